/**
 * EC public points: the raw point inside a CKA_EC_POINT, and whether a point lies on its curve
 * (SEC 1 section 3.2.2.1 partial validation):
 * coordinates below p and y² = x³ + ax + b (mod p). OpenSSL refuses such a point when it loads
 * the key, so a file holding one is not a key; checking here keeps the ASN.1 layer pure (no
 * node:crypto). The NIST curves have a = p - 3 and p ≡ 3 (mod 4), so a compressed point's y is
 * a square root by one exponentiation.
 */
import { TspError } from "../errors.js";
import { toHex } from "./bytes.js";
import type { Curve, CurveName } from "./curves.js";

/**
 * The raw point of a CKA_EC_POINT. PKCS#11 says it is a DER OCTET STRING around the point,
 * but some modules store the bare point; a raw uncompressed point also starts with 0x04, so
 * the curve's sizes (when known) decide which one this is.
 */
export function unwrapEcPoint(ecPoint: Uint8Array, curve?: Curve): Uint8Array {
  if (curve && isRawPoint(ecPoint, curve)) return ecPoint.slice();
  const inner = octetStringContent(ecPoint);
  if (inner && (!curve || isRawPoint(inner, curve))) return inner;
  if (!curve && !inner) return ecPoint.slice();
  const what = curve ? `a valid ${curve.name} point` : "a valid EC point";
  throw new TspError("usage", `CKA_EC_POINT is not ${what} (${ecPoint.length} bytes)`);
}

function isRawPoint(bytes: Uint8Array, curve: Curve): boolean {
  if (curve.keyType !== "ec") return bytes.length === curve.fieldBytes;
  const first = bytes[0];
  if (first === 0x04) return bytes.length === 1 + 2 * curve.fieldBytes;
  return (first === 0x02 || first === 0x03) && bytes.length === 1 + curve.fieldBytes;
}

/**
 * The content of a DER OCTET STRING that spans all of `bytes`, else undefined: the primitive
 * tag, then a definite length in its shortest form. Read here rather than through the schemas
 * because a key's id needs nothing else, and keygen then starts without the ASN.1 stack (3 ms).
 */
export function octetStringContent(bytes: Uint8Array): Uint8Array | undefined {
  const [tag, first] = bytes;
  if (tag !== 0x04 || first === undefined || first === 0x80) return undefined;
  let start = 2;
  let length = first;
  if (first > 0x80) {
    // Long form: `first & 0x7f` length bytes, no leading zero, and only for lengths over 127.
    start += first & 0x7f;
    if (start > 5 || bytes.length < start || bytes[2] === 0) return undefined;
    length = bytes.subarray(2, start).reduce((sum, byte) => sum * 256 + byte, 0);
    if (length < 0x80) return undefined;
  }
  return start + length === bytes.length ? bytes.slice(start) : undefined;
}

interface WeierstrassCurve {
  p: bigint;
  b: bigint;
  fieldBytes: number;
}

const NIST: Partial<Record<CurveName, WeierstrassCurve>> = {
  prime256v1: {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    fieldBytes: 32,
  },
  secp384r1: {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    fieldBytes: 48,
  },
  secp521r1: {
    p: (1n << 521n) - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    fieldBytes: 66,
  },
};

/**
 * Why the point (SEC 1 encoding: 04‖X‖Y or 02/03‖X) is not a valid point of `curve`, or
 * undefined when it is one. Curves without parameters here are not judged.
 */
export function ecPointProblem(curve: CurveName, point: Uint8Array): string | undefined {
  const params = NIST[curve];
  if (!params) return undefined;
  const n = params.fieldBytes;
  const form = point[0];
  if (form === 0x04 && point.length === 1 + 2 * n) {
    const x = toBigInt(point.subarray(1, 1 + n));
    const y = toBigInt(point.subarray(1 + n));
    if (x >= params.p || y >= params.p) return "a coordinate is not below the field prime";
    return mod(y * y, params.p) === rhs(x, params) ? undefined : `the point is not on ${curve}`;
  }
  if ((form === 0x02 || form === 0x03) && point.length === 1 + n) {
    const x = toBigInt(point.subarray(1));
    if (x >= params.p) return "a coordinate is not below the field prime";
    const ySquared = rhs(x, params);
    const y = power(ySquared, (params.p + 1n) / 4n, params.p);
    return mod(y * y, params.p) === ySquared ? undefined : `no point of ${curve} has this x`;
  }
  return `not a ${curve} point encoding (${point.length} bytes, first byte ${form ?? "none"})`;
}

/** x³ - 3x + b mod p. */
function rhs(x: bigint, { p, b }: WeierstrassCurve): bigint {
  return mod(x * x * x - 3n * x + b, p);
}

function mod(value: bigint, p: bigint): bigint {
  const r = value % p;
  return r < 0n ? r + p : r;
}

function power(base: bigint, exponent: bigint, p: bigint): bigint {
  let result = 1n;
  let b = mod(base, p);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % p;
    b = (b * b) % p;
  }
  return result;
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${toHex(bytes)}`);
}
