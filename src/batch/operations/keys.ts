/**
 * verify and cert from the API's JSON form. A signature that does not match is an answer,
 * not an error: `valid: false` (the CLI's exit 7 is how a shell script reads the same answer).
 */
import { ecdsaDerToRaw } from "../../asn1/ecdsa.js";
import { prepareCert, runCert } from "../../core/cert.js";
import { keySelectorOf } from "../../core/find-key.js";
import { parseMechanismName } from "../../core/sign-mechanisms.js";
import type { SignaturePlan } from "../../core/signing.js";
import { findVerifyingKey, planSignature, verifyBytes } from "../../core/signing.js";
import { prepareObject, runWriteObject } from "../../core/write-object.js";
import { TspError } from "../../errors.js";
import { parseHexId } from "../../options.js";
import type { CertBody, VerifyBody } from "../../serve/schemas.js";
import { CERT_BODY, VERIFY_BODY } from "../../serve/schemas.js";
import { defineOperation, hexIdOf } from "../operation.js";

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

export const verifyOperation = defineOperation<VerifyBody>({
  schema: VERIFY_BODY,
  // Public keys are public objects: a login only when a PIN comes (HMAC keys need one).
  login: "if-pin",
  writes: false,
  prepare(body) {
    const selector = keySelectorOf(body.key, hexIdOf(body.id), undefined);
    const request = {
      mechanism: body.mechanism === undefined ? undefined : parseMechanismName(body.mechanism),
      hash: body.hash,
      saltLen: body.saltLen,
    };
    const data = Buffer.from(body.dataBase64, "base64");
    const signature = Buffer.from(body.signatureBase64, "base64");
    return ({ scope }) => {
      const { session } = scope;
      const key = findVerifyingKey(session, selector);
      const plan = planSignature(session, key, request);
      const prepared = tokenSignature(plan, signature, body.format);
      const valid = prepared !== undefined && verifyBytes(session, key, plan, data, prepared);
      return Promise.resolve({ valid, mechanism: plan.name });
    };
  },
});

const pemBytes = (text: string | undefined): Uint8Array | undefined =>
  text === undefined ? undefined : new Uint8Array(Buffer.from(text, "utf8"));

export const certOperation = defineOperation<CertBody>({
  schema: CERT_BODY,
  login: "required",
  writes: (body) => body.import === true,
  prepare(body) {
    if (body.import === true && body.csr !== undefined) {
      throw new TspError(
        "usage",
        "cert: import stores a self-signed certificate; an issued one belongs to the requester",
      );
    }
    // Selector, DN, SANs, the request and its signature: checked before the token is touched.
    const selector = keySelectorOf(body.key, hexIdOf(body.id), undefined);
    const prepared = prepareCert({
      subject: body.subject,
      san: body.san,
      csr: pemBytes(body.csr),
      issuerCert: pemBytes(body.issuerCert),
      days: body.days ?? 365,
      serial: body.setSerial === undefined ? undefined : parseHexId(body.setSerial),
      ca: body.ca === true,
      hash: body.hash,
      pss: body.pss === true,
    });
    return async ({ scope, warn }) => {
      const hooks = { warn };
      const made = await runCert(scope, selector, prepared, hooks);
      if (body.import === true) {
        // Under the token's lock, as write-object: a certificate already there is refused.
        await runWriteObject(
          scope,
          prepareObject("cert", made.der),
          { force: false, private: false },
          hooks,
        );
      }
      return made.result;
    };
  },
});
