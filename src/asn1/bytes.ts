/**
 * Byte helpers shared by the ASN.1 layer. The schemas speak ArrayBuffer, PKCS#11 and node speak
 * Uint8Array; these convert without ever sharing a larger backing buffer by accident.
 */

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** An ArrayBuffer holding exactly these bytes (a Uint8Array may be a view into a larger one). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

export function fromArrayBuffer(buf: ArrayBuffer): Uint8Array {
  return new Uint8Array(buf.slice(0));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}

/** Drops leading zero bytes, keeping at least one byte. */
export function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i);
}

/**
 * The content of a DER INTEGER for an unsigned big-endian number (PKCS#11 "Big integer",
 * an ECDSA half): minimal, with a 0x00 in front when the high bit is set, so it stays positive.
 */
export function unsignedToInteger(bytes: Uint8Array): ArrayBuffer {
  const minimal = stripLeadingZeros(bytes);
  if (minimal.length === 0) return new Uint8Array([0]).buffer;
  if ((minimal[0] ?? 0) & 0x80) {
    const padded = new Uint8Array(minimal.length + 1);
    padded.set(minimal, 1);
    return padded.buffer;
  }
  return toArrayBuffer(minimal);
}

/** Inverse of unsignedToInteger: the magnitude of a non-negative INTEGER, no leading zeros. */
export function integerToUnsigned(content: ArrayBuffer): Uint8Array {
  return stripLeadingZeros(new Uint8Array(content)).slice();
}

/** Number of significant bits of an unsigned big-endian number. */
export function bitLength(bytes: Uint8Array): number {
  const minimal = stripLeadingZeros(bytes);
  const first = minimal[0] ?? 0;
  if (first === 0) return 0;
  return (minimal.length - 1) * 8 + (32 - Math.clz32(first));
}
