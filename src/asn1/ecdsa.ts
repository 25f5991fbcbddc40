/**
 * ECDSA signature formats. CKM_ECDSA returns r‖s, each half left-padded to the curve's field
 * size (PKCS#11 3.0, section 2.3.1); X.509, CSRs and openssl want the DER ECDSA-Sig-Value of
 * RFC 3279 section 2.2.3. The INTEGER content must be minimal and positive, which is the one
 * step the schema does not do for us.
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { ECDSASigValue } from "@peculiar/asn1-ecc";
import { TspError } from "../errors.js";
import { integerToUnsigned, unsignedToInteger } from "./bytes.js";
import { parseDer } from "./der.js";

/** r‖s (equal halves) to DER ECDSA-Sig-Value. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new TspError("usage", `not a raw ECDSA signature: ${raw.length} bytes is not r‖s`);
  }
  const half = raw.length / 2;
  const sig = new ECDSASigValue({
    r: unsignedToInteger(raw.subarray(0, half)),
    s: unsignedToInteger(raw.subarray(half)),
  });
  return new Uint8Array(AsnConvert.serialize(sig));
}

/** DER ECDSA-Sig-Value to r‖s, each half left-padded with zeros to fieldBytes. */
export function ecdsaDerToRaw(der: Uint8Array, fieldBytes: number): Uint8Array {
  const sig = parseSigValue(der);
  const raw = new Uint8Array(fieldBytes * 2);
  [sig.r, sig.s].forEach((part, k) => {
    const magnitude = integerToUnsigned(part);
    if (magnitude.length > fieldBytes || (new Uint8Array(part)[0] ?? 0) & 0x80) {
      throw new TspError("usage", `ECDSA signature value does not fit ${fieldBytes}-byte halves`);
    }
    raw.set(magnitude, (k + 1) * fieldBytes - magnitude.length);
  });
  return raw;
}

function parseSigValue(der: Uint8Array): ECDSASigValue {
  return parseDer(der, ECDSASigValue, "not a DER ECDSA signature");
}
