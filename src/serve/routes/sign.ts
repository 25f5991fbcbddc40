/** POST /v1/tokens/{label}/sign: sign (one C_Sign on the thread pool). */
import { ecdsaRawToDer } from "../../asn1/ecdsa.js";
import { findSigningKey, keySelectorOf } from "../../core/find-key.js";
import { parseMechanismName } from "../../core/sign-mechanisms.js";
import { planSignature, signBytes } from "../../core/signing.js";
import { parseHexId } from "../../options.js";
import { defineRoute, hex } from "../route.js";
import type { SignBody } from "../schemas.js";
import { LABEL_PARAMS, SIGN_BODY, SIGN_RESPONSE } from "../schemas.js";

export interface SignResult {
  mechanism: string;
  keyId: string;
  keyLabel: string;
  /** ECDSA only: the encoding of the signature bytes. */
  format?: "der" | "raw";
  signatureBase64: string;
}

export const signRoutes = [
  defineRoute<SignBody, never, { label: string }>({
    method: "POST",
    url: "/v1/tokens/:label/sign",
    operationId: "sign",
    summary: "Sign data with a token key, as tsp11 sign --json",
    tag: "keys",
    status: 200,
    pin: true,
    params: LABEL_PARAMS,
    body: SIGN_BODY,
    response: SIGN_RESPONSE,
    async handler({ body, params, pin }, { tokens }) {
      const selector = keySelectorOf(
        body.key,
        body.id === undefined ? undefined : parseHexId(body.id),
        undefined,
      );
      const mechanism =
        body.mechanism === undefined ? undefined : parseMechanismName(body.mechanism);
      const data = Buffer.from(body.dataBase64, "base64");
      return tokens.withToken(params.label, pin, "required", async ({ scope }) => {
        const { session } = scope;
        const key = findSigningKey(session, selector);
        const plan = planSignature(session, key, {
          mechanism,
          hash: body.hash,
          saltLen: body.saltLen,
        });
        const raw = await signBytes(session, key, plan, data);
        const ec = plan.keyType === "ec";
        const format = body.format ?? "der";
        const signature = ec && format === "der" ? ecdsaRawToDer(raw) : raw;
        const result: SignResult = {
          mechanism: plan.name,
          keyId: hex(key.id),
          keyLabel: key.label,
          ...(ec ? { format } : {}),
          signatureBase64: Buffer.from(signature).toString("base64"),
        };
        return result;
      });
    },
  }),
];
