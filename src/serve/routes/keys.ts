/** POST /v1/tokens/{label}/keys: keygen (generation on the thread pool). */
import { runKeygen } from "../../core/keygen.js";
import { parseMechanismList } from "../../mechanism-list.js";
import { parseHexId, parseKeySpec, parseUsage } from "../../options.js";
import { defineRoute, warnTo } from "../route.js";
import type { KeygenBody } from "../schemas.js";
import { KEYGEN_BODY, KEYGEN_RESPONSE, LABEL_PARAMS } from "../schemas.js";

/** The CLI's comma-separated list, or an array of names. */
function allowedMechanisms(list: string | string[] | undefined): number[] | undefined {
  if (list === undefined) return undefined;
  return parseMechanismList(Array.isArray(list) ? list.join(",") : list);
}

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
        flags: {
          sensitive: body.sensitive !== false,
          alwaysAuthenticate: body.alwaysAuthenticate === true,
          allowedMechanisms: allowedMechanisms(body.allowedMechanisms),
          destroyable: body.destroyable !== false,
          modifiable: body.modifiable !== false,
        },
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
