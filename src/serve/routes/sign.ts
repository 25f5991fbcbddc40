/**
 * POST /v1/tokens/{label}/sign: sign, through the core's plan and signBytes (RSA's C_Sign on
 * the thread pool; ECDSA and EdDSA, quicker than the trip there, on the event loop).
 */
import { ecdsaRawToDer } from "../../asn1/ecdsa.js";
import type { TokenKey } from "../../core/find-key.js";
import { findSigningKey, keySelectorOf } from "../../core/find-key.js";
import { parseMechanismName } from "../../core/sign-mechanisms.js";
import type { SignRequest } from "../../core/signing.js";
import { planSignature, signBytes } from "../../core/signing.js";
import { TspError } from "../../errors.js";
import type { TokenSession } from "../../pkcs11/session.js";
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

const STALE_HANDLE = ["CKR_OBJECT_HANDLE_INVALID", "CKR_KEY_HANDLE_INVALID"];

function isCkrOf(error: unknown, names: string[]): boolean {
  return error instanceof TspError && error.ckr !== undefined && names.includes(error.ckr);
}

/** The core's plan and one C_Sign; ECDSA as DER unless raw is asked for, as the CLI does. */
async function sign(
  session: TokenSession,
  key: TokenKey,
  request: SignRequest,
  data: Buffer,
  format: "der" | "raw",
): Promise<SignResult> {
  const plan = planSignature(session, key, request);
  const raw = await signBytes(session, key, plan, data);
  const ec = plan.keyType === "ec";
  const signature = ec && format === "der" ? ecdsaRawToDer(raw) : raw;
  return {
    mechanism: plan.name,
    keyId: hex(key.id),
    keyLabel: key.label,
    ...(ec ? { format } : {}),
    signatureBase64: Buffer.from(signature).toString("base64"),
  };
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
      const id = body.id === undefined ? undefined : parseHexId(body.id);
      const selector = keySelectorOf(body.key, id, undefined);
      const request: SignRequest = {
        mechanism: body.mechanism === undefined ? undefined : parseMechanismName(body.mechanism),
        hash: body.hash,
        saltLen: body.saltLen,
      };
      const data = Buffer.from(body.dataBase64, "base64");
      const format = body.format ?? "der";
      const known = `${body.key ?? ""}\u0000${id ? hex(id) : ""}`;
      return tokens.withToken(params.label, pin, "required", async ({ scope, keys }) => {
        const { session } = scope;
        const find = (): TokenKey => {
          const key = findSigningKey(session, selector);
          keys.set(known, key);
          return key;
        };
        const cached = keys.get(known);
        try {
          return await sign(session, cached ?? find(), request, data, format);
        } catch (error) {
          // A key found earlier and destroyed since (by another program): look again, once.
          if (!cached || !isCkrOf(error, STALE_HANDLE)) throw error;
          keys.delete(known);
          return await sign(session, find(), request, data, format);
        }
      });
    },
  }),
];
