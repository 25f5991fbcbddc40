/**
 * POST /v1/tokens/{label}/verify: verify, through the core's plan and verifyBytes. A signature
 * that does not match is an answer, not an error: 200 with `valid: false` (the CLI's exit 7
 * is how a shell script reads the same answer).
 */
import { ecdsaDerToRaw } from "../../asn1/ecdsa.js";
import { keySelectorOf } from "../../core/find-key.js";
import { parseMechanismName } from "../../core/sign-mechanisms.js";
import type { SignaturePlan } from "../../core/signing.js";
import { findVerifyingKey, planSignature, verifyBytes } from "../../core/signing.js";
import { TspError } from "../../errors.js";
import { parseHexId } from "../../options.js";
import { defineRoute } from "../route.js";
import type { VerifyBody } from "../schemas.js";
import { LABEL_PARAMS, VERIFY_BODY, VERIFY_RESPONSE } from "../schemas.js";

/**
 * The signature as the token takes it, or undefined when it cannot be one (no match). ECDSA
 * comes as DER unless format raw; without a format, r‖s of the curve's exact length is taken
 * too, as the CLI does.
 */
function tokenSignature(
  plan: SignaturePlan,
  signature: Uint8Array,
  format: VerifyBody["format"],
): Uint8Array | undefined {
  if (plan.keyType !== "ec" || format === "raw") return signature;
  const fieldBytes = plan.fieldBytes;
  if (fieldBytes === undefined) {
    throw new TspError(
      "usage",
      "verify: the key's curve is unknown: give the signature as raw r‖s (format raw)",
    );
  }
  try {
    return ecdsaDerToRaw(signature, fieldBytes);
  } catch {
    return format === undefined && signature.length === 2 * fieldBytes ? signature : undefined;
  }
}

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
      const id = body.id === undefined ? undefined : parseHexId(body.id);
      const selector = keySelectorOf(body.key, id, undefined);
      const request = {
        mechanism: body.mechanism === undefined ? undefined : parseMechanismName(body.mechanism),
        hash: body.hash,
        saltLen: body.saltLen,
      };
      const data = Buffer.from(body.dataBase64, "base64");
      const signature = Buffer.from(body.signatureBase64, "base64");
      // Public keys are public objects: a login only when a PIN comes (HMAC keys need one).
      return tokens.withToken(params.label, pin, "if-pin", ({ scope }) => {
        const { session } = scope;
        const key = findVerifyingKey(session, selector);
        const plan = planSignature(session, key, request);
        const prepared = tokenSignature(plan, signature, body.format);
        const valid = prepared !== undefined && verifyBytes(session, key, plan, data, prepared);
        return Promise.resolve({ valid, mechanism: plan.name });
      });
    },
  }),
];
