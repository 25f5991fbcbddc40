/** POST /v1/tokens/{label}/keys: keygen (generation on the thread pool). */
import { keygenOperation } from "../../batch/operations.js";
import { defineRoute, warnTo } from "../route.js";
import type { KeygenBody } from "../schemas.js";
import { KEYGEN_BODY, KEYGEN_RESPONSE, LABEL_PARAMS } from "../schemas.js";

export const keyRoutes = [
  defineRoute<KeygenBody, never, { label: string }>({
    method: "POST",
    url: "/v1/tokens/:label/keys",
    operationId: "generateKey",
    summary: "Generate a key pair or secret key, as tsp11 keygen --json",
    tag: "keys",
    status: 201,
    pin: true,
    params: LABEL_PARAMS,
    body: KEYGEN_BODY,
    response: KEYGEN_RESPONSE,
    async handler({ body, params, pin, log }, { tokens }) {
      const run = await keygenOperation.prepare(body);
      return tokens.withToken(
        params.label,
        pin,
        "required",
        ({ scope }) => run({ scope, authenticated: true, warn: warnTo(log).warn }),
        // RSA generation takes seconds of a thread-pool thread: a few at a time.
        { generate: keygenOperation.generates?.(body) === true, writes: true },
      );
    },
  }),
];
