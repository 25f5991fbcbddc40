/**
 * POST /v1/tokens/{label}/verify: verify, through batch's operation (the core's plan and
 * verifyBytes). A signature that does not match is an answer, not an error: 200 with
 * `valid: false` (the CLI's exit 7 is how a shell script reads the same answer).
 */
import { verifyOperation } from "../../batch/operations/keys.js";
import { defineRoute } from "../route.js";
import type { VerifyBody } from "../schemas.js";
import { LABEL_PARAMS, VERIFY_BODY, VERIFY_RESPONSE } from "../schemas.js";

export const verifyRoutes = [
  defineRoute<VerifyBody, never, { label: string }>({
    method: "POST",
    url: "/v1/tokens/:label/verify",
    operationId: "verify",
    summary:
      "Check a signature on the token, as tsp11 verify --json (a mismatch is 200 with valid false)",
    tag: "keys",
    status: 200,
    pin: true,
    params: LABEL_PARAMS,
    body: VERIFY_BODY,
    response: VERIFY_RESPONSE,
    async handler({ body, params, pin }, { tokens }) {
      const run = await verifyOperation.prepare(body);
      // Public keys are public objects: a login only when a PIN comes (HMAC keys need one).
      return tokens.withToken(params.label, pin, "if-pin", ({ scope, authenticated }) =>
        run({ scope, authenticated, warn: () => undefined }),
      );
    },
  }),
];
