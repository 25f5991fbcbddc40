/**
 * r‖s to DER ECDSA-Sig-Value (RFC 3279 section 2.2.3) written out by hand: the same bytes as
 * ecdsaRawToDer (ecdsa.ts), without loading the ASN.1 schemas. `tsp11 sign` converts every
 * signature of a batch, where the schema round trip cost more than the token's signing.
 */
import { TspError } from "../errors.js";

/** DER INTEGER content of an unsigned big-endian number: minimal, with a 00 when the top bit is set. */
function integerContent(unsigned: Uint8Array): Uint8Array {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const magnitude = unsigned.subarray(start);
  if (((magnitude[0] ?? 0) & 0x80) === 0) return magnitude;
  const padded = new Uint8Array(magnitude.length + 1);
  padded.set(magnitude, 1);
  return padded;
}

function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  if (length < 0x100) return [0x81, length];
  return [0x82, length >> 8, length & 0xff];
}

function tlv(tag: number, parts: readonly Uint8Array[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const header = [tag, ...lengthBytes(length)];
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let offset = header.length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** r‖s (equal halves, as CKM_ECDSA returns them) to DER SEQUENCE { INTEGER r, INTEGER s }. */
export function ecdsaRawToDerFast(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new TspError("usage", `not a raw ECDSA signature: ${raw.length} bytes is not r‖s`);
  }
  const half = raw.length / 2;
  const r = tlv(0x02, [integerContent(raw.subarray(0, half))]);
  const s = tlv(0x02, [integerContent(raw.subarray(half))]);
  return tlv(0x30, [r, s]);
}
