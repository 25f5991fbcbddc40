/** GET /healthz: liveness, answered without the bearer token and without touching the token. */
import { defineRoute } from "../route.js";
import { HEALTH_RESPONSE } from "../schemas.js";

export const healthRoutes = [
  defineRoute({
    method: "GET",
    url: "/healthz",
    operationId: "health",
    summary: "Liveness",
    tag: "service",
    status: 200,
    auth: false,
    response: HEALTH_RESPONSE,
    handler: () => Promise.resolve({ ok: true }),
  }),
];
