/**
 * POST /v1/tokens/{label}/encrypt, /decrypt, /wrap, /unwrap and /derive: the CLI's commands
 * through batch's operations (the same cores), with their --json answers. Data travels
 * base64 in the JSON bodies (bounded by the body limit); the IV is the ciphertext's first
 * bytes unless `ivPrefix: false`, as on the command line.
 */
import type { Operation } from "../../batch/operation.js";
import { writesOf } from "../../batch/operation.js";
import {
  decryptOperation,
  deriveOperation,
  encryptOperation,
  unwrapOperation,
  wrapOperation,
} from "../../batch/operations/crypto.js";
import type { RouteRequest, Services } from "../route.js";
import { defineRoute } from "../route.js";
import type { CipherBody, DeriveBody, UnwrapBody, WrapBody } from "../schemas.js";
import {
  DECRYPT_BODY,
  DECRYPT_RESPONSE,
  DERIVE_BODY,
  ENCRYPT_BODY,
  ENCRYPT_RESPONSE,
  KEYGEN_RESPONSE,
  LABEL_PARAMS,
  UNWRAP_BODY,
  UNWRAP_RESPONSE,
  WRAP_BODY,
  WRAP_RESPONSE,
} from "../schemas.js";

interface LabelParams {
  label: string;
}

/** A handler that runs the operation on the path's token, with a login. */
function handlerOf<Body>(operation: Operation) {
  return async (
    { body, params, pin }: RouteRequest<Body, never, LabelParams>,
    { tokens }: Services,
  ): Promise<unknown> => {
    // Checked before the token is touched: bad arguments are a 400.
    const run = await operation.prepare(body);
    return tokens.withToken(
      params.label,
      pin,
      "required",
      ({ scope, authenticated }) => run({ scope, authenticated, warn: () => undefined }),
      { writes: writesOf(operation, body) },
    );
  };
}

const encryptRoute = defineRoute<CipherBody, never, LabelParams>({
  method: "POST",
  url: "/v1/tokens/:label/encrypt",
  operationId: "encrypt",
  summary: "Encrypt data with a token key, as tsp11 encrypt --json",
  tag: "crypto",
  status: 200,
  pin: true,
  params: LABEL_PARAMS,
  body: ENCRYPT_BODY,
  response: ENCRYPT_RESPONSE,
  handler: handlerOf<CipherBody>(encryptOperation),
});

const decryptRoute = defineRoute<CipherBody, never, LabelParams>({
  method: "POST",
  url: "/v1/tokens/:label/decrypt",
  operationId: "decrypt",
  summary: "Decrypt data with a token key, as tsp11 decrypt --json (wrong key or tag: verify)",
  tag: "crypto",
  status: 200,
  pin: true,
  params: LABEL_PARAMS,
  body: DECRYPT_BODY,
  response: DECRYPT_RESPONSE,
  handler: handlerOf<CipherBody>(decryptOperation),
});

const wrapRoute = defineRoute<WrapBody, never, LabelParams>({
  method: "POST",
  url: "/v1/tokens/:label/wrap",
  operationId: "wrapKey",
  summary: "Export a key wrapped under a wrapping key, as tsp11 wrap --json",
  tag: "crypto",
  status: 200,
  pin: true,
  params: LABEL_PARAMS,
  body: WRAP_BODY,
  response: WRAP_RESPONSE,
  handler: handlerOf<WrapBody>(wrapOperation),
});

const unwrapRoute = defineRoute<UnwrapBody, never, LabelParams>({
  method: "POST",
  url: "/v1/tokens/:label/unwrap",
  operationId: "unwrapKey",
  summary: "Create a key on the token from a wrapped key, as tsp11 unwrap --json",
  tag: "crypto",
  status: 201,
  pin: true,
  params: LABEL_PARAMS,
  body: UNWRAP_BODY,
  response: UNWRAP_RESPONSE,
  handler: handlerOf<UnwrapBody>(unwrapOperation),
});

const deriveRoute = defineRoute<DeriveBody, never, LabelParams>({
  method: "POST",
  url: "/v1/tokens/:label/derive",
  operationId: "deriveKey",
  summary: "ECDH on the token into a new secret key, as tsp11 derive --json",
  tag: "crypto",
  status: 201,
  pin: true,
  params: LABEL_PARAMS,
  body: DERIVE_BODY,
  response: KEYGEN_RESPONSE,
  handler: handlerOf<DeriveBody>(deriveOperation),
});

export const cryptoRoutes = [encryptRoute, decryptRoute, wrapRoute, unwrapRoute, deriveRoute];
