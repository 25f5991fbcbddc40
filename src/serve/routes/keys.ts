/** POST /v1/tokens/{label}/keys: keygen (generation on the thread pool). */
import { runKeygen } from "../../core/keygen.js";
import { parseHexId, parseKeySpec, parseUsage } from "../../options.js";
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
      const spec = parseKeySpec(body.keyType);
      const usage =
        body.usage === undefined
          ? undefined
          : parseUsage(Array.isArray(body.usage) ? body.usage.join(",") : body.usage);
      const options = {
        spec,
        label: body.label,
        id: body.id === undefined ? undefined : parseHexId(body.id),
        usage,
        extractable: body.extractable === true,
        force: body.force === true,
      };
      return tokens.withToken(
        params.label,
        pin,
        "required",
        ({ scope }) => runKeygen(scope, options, warnTo(log)),
        // RSA generation takes seconds of a thread-pool thread: a few at a time.
        { generate: spec.keyType === "rsa", writes: true },
      );
    },
  }),
];
