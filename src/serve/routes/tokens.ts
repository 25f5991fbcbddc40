/** POST /v1/tokens: init-token. The SO PIN (and the user PIN to set) come in the body only. */
import { runInitToken } from "../../core/init-token.js";
import { Pin } from "../../pin.js";
import { defineRoute } from "../route.js";
import type { InitTokenBody } from "../schemas.js";
import { INIT_TOKEN_BODY, INIT_TOKEN_RESPONSE } from "../schemas.js";

export const tokenRoutes = [
  defineRoute<InitTokenBody>({
    method: "POST",
    url: "/v1/tokens",
    operationId: "initToken",
    summary: "Initialize a token (and set its user PIN), as tsp11 init-token --json",
    tag: "tokens",
    status: 201,
    body: INIT_TOKEN_BODY,
    response: INIT_TOKEN_RESPONSE,
    async handler({ body }, { tokens }) {
      const options = {
        label: body.label,
        soPin: new Pin(body.soPin),
        userPin: body.pin === undefined ? undefined : new Pin(body.pin),
        selector: { slot: body.slot },
        force: body.force === true,
      };
      // Alone on the module: C_InitToken wants no open session, and slots are renumbered after.
      return tokens.exclusive((module) => runInitToken(module, options));
    },
  }),
];
