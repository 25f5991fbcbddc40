/** Every endpoint of the provisioning API, in the order /openapi.json lists them. */
import type { RouteSpec } from "../route.js";
import { csrRoutes } from "./csr.js";
import { cryptoRoutes } from "./crypto.js";
import { healthRoutes } from "./health.js";
import { keyRoutes } from "./keys.js";
import { objectRoutes } from "./objects.js";
import { signRoutes } from "./sign.js";
import { slotRoutes } from "./slots.js";
import { tokenRoutes } from "./tokens.js";
// The CLI's other commands: read, delete, edit, verify, cert, change-pin.
import { certRoutes } from "./cert.js";
import { objectAdminRoutes } from "./object-admin.js";
import { pinRoutes } from "./pin.js";
import { verifyRoutes } from "./verify.js";

export const ROUTES: readonly RouteSpec[] = [
  ...slotRoutes,
  ...tokenRoutes,
  ...objectRoutes,
  ...keyRoutes,
  ...csrRoutes,
  ...signRoutes,
  ...objectAdminRoutes,
  ...verifyRoutes,
  ...certRoutes,
  ...pinRoutes,
  ...cryptoRoutes,
  ...healthRoutes,
];
