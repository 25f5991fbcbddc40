/**
 * SubjectPublicKeyInfo (RFC 5280 4.1.2.7) from a token key's public attributes, and back.
 * RSA: RFC 3279 2.3.1 (rsaEncryption, NULL parameters, RSAPublicKey). EC: RFC 5480 2 (named
 * curve OID as parameters, the uncompressed point as the key). Ed25519/Ed448: RFC 8410 3
 * (no parameters, the raw key).
 */
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import { RSAPublicKey } from "@peculiar/asn1-rsa";
import { TspError } from "../errors.js";
import {
  bitLength,
  bytesEqual,
  fromArrayBuffer,
  integerToUnsigned,
  toArrayBuffer,
  unsignedToInteger,
  fromHex,
} from "./bytes.js";
import { curveFromEcParams, curveFromOid, findCurve } from "./curves.js";
import { ecPointProblem, unwrapEcPoint } from "./ec-point.js";
import { parseDer } from "./der.js";
import { toPem } from "./pem.js";

const OID_RSA = "1.2.840.113549.1.1.1";
const OID_RSASSA_PSS = "1.2.840.113549.1.1.10";
const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";

export interface SpkiInfo {
  keyType: "rsa" | "ec" | "ec-edwards" | "ec-montgomery";
  /** RSA modulus bits; the curve's size as OpenSSL reports it otherwise. */
  bits: number;
  /** OpenSSL curve name; absent for RSA and for curves tsp11 does not know. */
  curve?: string;
  /** Unsigned big-endian, no leading zero (CKA_MODULUS form). */
  modulus?: Uint8Array;
  publicExponent?: Uint8Array;
  /** Raw point: 04‖X‖Y for EC, the 32/57 key bytes for Edwards curves. */
  ecPoint?: Uint8Array;
}

/** A token key's public attributes, as core/public-key.ts reads them. */
export interface PublicValues {
  keyType: SpkiInfo["keyType"];
  modulus?: Uint8Array;
  publicExponent?: Uint8Array;
  ecParams?: Uint8Array;
  /** CKA_EC_POINT as the module gives it (a DER OCTET STRING, or raw from some modules). */
  ecPoint?: Uint8Array;
}

/**
 * The SPKI of a token key, from its public attributes, as the structure: a request embeds it
 * as it is, rather than parsing back its DER.
 */
export function publicKeyInfoOf(values: PublicValues): SubjectPublicKeyInfo {
  if (values.keyType === "rsa" && values.modulus && values.publicExponent) {
    return rsaPublicKeyInfo(values.modulus, values.publicExponent);
  }
  if (values.ecParams && values.ecPoint) return ecPublicKeyInfo(values.ecParams, values.ecPoint);
  throw new TspError("failure", "read public key: the key's public attributes are incomplete");
}

/** The DER SPKI of a token key, from its public attributes. */
export function spkiOf(values: PublicValues): Uint8Array {
  return spkiDer(publicKeyInfoOf(values));
}

/** DER of an SPKI structure. */
export function spkiDer(info: SubjectPublicKeyInfo): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(info));
}

/** SPKI of an RSA key from CKA_MODULUS and CKA_PUBLIC_EXPONENT (unsigned big-endian). */
export function rsaSpki(modulus: Uint8Array, publicExponent: Uint8Array): Uint8Array {
  return spkiDer(rsaPublicKeyInfo(modulus, publicExponent));
}

function rsaPublicKeyInfo(modulus: Uint8Array, publicExponent: Uint8Array): SubjectPublicKeyInfo {
  const key = new RSAPublicKey({
    modulus: unsignedToInteger(modulus),
    publicExponent: unsignedToInteger(publicExponent),
  });
  return publicKeyInfo(
    new AlgorithmIdentifier({ algorithm: OID_RSA, parameters: null }),
    new Uint8Array(AsnConvert.serialize(key)),
  );
}

/** SPKI around a PKCS#1 RSAPublicKey's DER ("RSA PUBLIC KEY" PEM), its bytes kept as they are. */
export function rsaSpkiOfPkcs1(rsaPublicKey: Uint8Array): Uint8Array {
  return spkiDer(
    publicKeyInfo(new AlgorithmIdentifier({ algorithm: OID_RSA, parameters: null }), rsaPublicKey),
  );
}

/**
 * SPKI of an EC or Edwards key from CKA_EC_PARAMS and CKA_EC_POINT. Edwards keys are
 * recognised by either params encoding (OID 1.3.101.112 or PrintableString "edwards25519").
 */
export function ecSpki(ecParams: Uint8Array, ecPoint: Uint8Array): Uint8Array {
  return spkiDer(ecPublicKeyInfo(ecParams, ecPoint));
}

function ecPublicKeyInfo(ecParams: Uint8Array, ecPoint: Uint8Array): SubjectPublicKeyInfo {
  const curve = curveFromEcParams(ecParams);
  const point = unwrapEcPoint(ecPoint, curve);
  // Edwards and Montgomery keys (RFC 8410): the raw key, no parameters.
  if (curve && curve.keyType !== "ec") {
    return publicKeyInfo(new AlgorithmIdentifier({ algorithm: curve.oid }), point);
  }
  // Unknown curves keep the module's own params: they are still a valid ECParameters.
  const params = curve ? fromHex(curve.ecParamsHex) : ecParams;
  return publicKeyInfo(
    new AlgorithmIdentifier({ algorithm: OID_EC_PUBLIC_KEY, parameters: toArrayBuffer(params) }),
    point,
  );
}

/** CKA_EC_POINT of a raw point: the DER OCTET STRING around it, as PKCS#11 says. */
export function wrapEcPoint(point: Uint8Array): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(new OctetString(toArrayBuffer(point))));
}

function publicKeyInfo(algorithm: AlgorithmIdentifier, key: Uint8Array): SubjectPublicKeyInfo {
  return new SubjectPublicKeyInfo({ algorithm, subjectPublicKey: toArrayBuffer(key) });
}

/**
 * What a DER SPKI from outside (a file, a certificate, a request) holds, checked as a key
 * OpenSSL would use: strict DER, an EC point on its curve, an Edwards key of its size, an RSA
 * key with a positive odd modulus of at least 512 bits and an odd exponent from 3 to below the
 * modulus. Any failure is a usage error naming it.
 */
export function parsePublicKey(der: Uint8Array): SpkiInfo {
  const info = parseSpki(der);
  // EC keys on curves tsp11 does not know are left to whoever knows them.
  if (info.keyType === "rsa") checkRsa(der);
  else checkPoint(info);
  return info;
}

const MIN_RSA_BITS = 512;

function checkRsa(der: Uint8Array): void {
  const spki = parseDer(der, SubjectPublicKeyInfo, "not a DER SubjectPublicKeyInfo");
  const rsa = parseDer(spki.subjectPublicKey, RSAPublicKey, "not a valid RSA public key");
  const modulus = new Uint8Array(rsa.modulus);
  const exponent = new Uint8Array(rsa.publicExponent);
  const bad = (why: string) => new TspError("usage", `not a valid RSA public key: ${why}`);
  if (((modulus[0] ?? 0) & 0x80) !== 0) throw bad("the modulus is negative");
  if (((exponent[0] ?? 0) & 0x80) !== 0) throw bad("the public exponent is negative");
  const n = integerToUnsigned(rsa.modulus);
  const e = integerToUnsigned(rsa.publicExponent);
  const bits = bitLength(n);
  if (bits < MIN_RSA_BITS) throw bad(`the modulus has ${bits} bits (at least ${MIN_RSA_BITS})`);
  if (((n[n.length - 1] ?? 0) & 1) === 0) throw bad("the modulus is even");
  if (((e[e.length - 1] ?? 0) & 1) === 0 || (e.length === 1 && (e[0] ?? 0) < 3)) {
    throw bad("the public exponent is not an odd number of at least 3");
  }
  if (compareUnsigned(e, n) >= 0) throw bad("the public exponent is not below the modulus");
}

/** Compares two unsigned big-endian numbers without leading zeros. */
function compareUnsigned(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  const k = a.findIndex((v, i) => v !== b[i]);
  return k < 0 ? 0 : (a[k] ?? 0) - (b[k] ?? 0);
}

/**
 * What OpenSSL checks when it loads an EC or Edwards key: an EC point on its curve (the curve
 * equation, see ec-point.ts), an Edwards key of its curve's size.
 */
function checkPoint(info: SpkiInfo): void {
  const curve = info.curve ? findCurve(info.curve) : undefined;
  const point = info.ecPoint ?? new Uint8Array();
  if (!curve) return;
  if (curve.keyType === "ec-edwards") {
    if (point.length === curve.fieldBytes) return;
    throw new TspError(
      "usage",
      `not a valid ${curve.name} public key: ${point.length} bytes, not ${curve.fieldBytes}`,
    );
  }
  const problem = ecPointProblem(curve.name, point);
  if (problem) throw new TspError("usage", `not a valid EC public key: ${problem}`);
}

/** What a DER SPKI holds. Anything else than an RSA, EC or Edwards key is a usage error. */
export function parseSpki(der: Uint8Array): SpkiInfo {
  const spki = parseDer(der, SubjectPublicKeyInfo, "not a DER SubjectPublicKeyInfo");
  const key = fromArrayBuffer(spki.subjectPublicKey);
  const oid = spki.algorithm.algorithm;
  if (oid === OID_RSA || oid === OID_RSASSA_PSS) return rsaInfo(key);
  if (oid === OID_EC_PUBLIC_KEY) return ecInfo(spki.algorithm.parameters, key);
  const edwards = curveFromOid(oid);
  if (edwards && edwards.keyType !== "ec") {
    return { keyType: edwards.keyType, bits: edwards.bits, curve: edwards.name, ecPoint: key };
  }
  throw new TspError("usage", `unsupported public key algorithm ${oid}`);
}

function rsaInfo(key: Uint8Array): SpkiInfo {
  const rsa = parseDer(key, RSAPublicKey, "not a valid RSA public key");
  const modulus = integerToUnsigned(rsa.modulus);
  return {
    keyType: "rsa",
    bits: bitLength(modulus),
    modulus,
    publicExponent: integerToUnsigned(rsa.publicExponent),
  };
}

function ecInfo(parameters: ArrayBuffer | null | undefined, point: Uint8Array): SpkiInfo {
  const curve = parameters ? curveFromEcParams(new Uint8Array(parameters)) : undefined;
  // For a curve we do not know, the point's size is the best size we have.
  const bits = curve?.bits ?? Math.max(0, ((point.length - 1) / 2) * 8);
  return curve
    ? { keyType: "ec", bits, curve: curve.name, ecPoint: point }
    : { keyType: "ec", bits, ecPoint: point };
}

/**
 * Whether two SPKIs hold the same public key, whatever their encodings (RSA parameters NULL or
 * absent, leading zeros, lengths). Input that does not parse matches nothing.
 */
export function spkiEquals(a: Uint8Array, b: Uint8Array): boolean {
  let x: SpkiInfo;
  let y: SpkiInfo;
  try {
    x = parseSpki(a);
    y = parseSpki(b);
  } catch {
    return false;
  }
  if (x.keyType !== y.keyType || x.curve !== y.curve) return false;
  return (
    sameBytes(x.modulus, y.modulus) &&
    sameBytes(x.publicExponent, y.publicExponent) &&
    sameBytes(x.ecPoint, y.ecPoint)
  );
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a === undefined || b === undefined ? a === b : bytesEqual(a, b);
}

export function spkiToPem(der: Uint8Array): string {
  return toPem(der, "PUBLIC KEY");
}
