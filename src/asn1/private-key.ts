/**
 * Private key files: PKCS#8 (RFC 5208, plain or encrypted), PKCS#1 RSA (RFC 8017 A.1.2) and
 * SEC1 EC (RFC 5915), as PEM or DER. Parsing is strict: each structure must re-encode to its
 * own bytes, with nothing after it. node:crypto decrypts encrypted PKCS#8 and derives the
 * public half; a key whose public half does not match its private half is refused.
 */
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { ECParameters, ECPrivateKey } from "@peculiar/asn1-ecc";
import { EncryptedPrivateKeyInfo, PrivateKeyInfo } from "@peculiar/asn1-pkcs8";
import { RSAPrivateKey } from "@peculiar/asn1-rsa";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { TspError } from "../errors.js";
import { bitLength, bytesEqual, fromArrayBuffer, integerToUnsigned } from "./bytes.js";
import { curveFromEcParams, curveFromOid } from "./curves.js";
import { parseDer } from "./der.js";
import { decodePemOrDer } from "./pem.js";
import { parseSpki } from "./spki.js";

export const PRIVATE_KEY_LABELS = [
  "PRIVATE KEY",
  "ENCRYPTED PRIVATE KEY",
  "RSA PRIVATE KEY",
  "EC PRIVATE KEY",
];

const OID_RSA = "1.2.840.113549.1.1.1";
const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const EDWARDS_OIDS: Readonly<Record<string, number>> = {
  "1.3.101.112": 32, // Ed25519
  "1.3.101.113": 57, // Ed448
};

/** A key file as read: plain keys become PKCS#8, encrypted ones wait for their pass phrase. */
export type PrivateKeyFile =
  { encrypted: false; pkcs8: Uint8Array } | { encrypted: true; der: Uint8Array; algorithm: string };

export interface RsaPrivateParts {
  modulus: Uint8Array;
  publicExponent: Uint8Array;
  privateExponent: Uint8Array;
  prime1: Uint8Array;
  prime2: Uint8Array;
  exponent1: Uint8Array;
  exponent2: Uint8Array;
  coefficient: Uint8Array;
}

/** A private key in the terms PKCS#11 stores it in, with its public half. */
export interface PrivateKeyParts {
  keyType: "rsa" | "ec" | "ec-edwards";
  /** RSA modulus bits, or the curve's size. */
  bits: number;
  /** OpenSSL curve name when tsp11 knows the curve, else its dotted OID. */
  curve?: string;
  rsa?: RsaPrivateParts;
  /** EC and Edwards: CKA_EC_PARAMS (DER of the named curve's OID). */
  ecParams?: Uint8Array;
  /** EC: the private scalar, fixed length; Edwards: the private key bytes (CKA_VALUE). */
  value?: Uint8Array;
  /** EC: the uncompressed point 04‖X‖Y; Edwards: the public key bytes. */
  ecPoint?: Uint8Array;
  /** DER SubjectPublicKeyInfo of the public half. */
  spki: Uint8Array;
}

/**
 * Parses `der` as `type` and checks that it re-encodes to exactly these bytes: BER, trailing
 * data or a structure the schema does not cover is refused (exit 2).
 */
export function parseStrict<T>(
  der: Uint8Array | ArrayBuffer,
  type: new () => T,
  message: string,
): T {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  const value = parseDer(bytes, type, message);
  let again: Uint8Array;
  try {
    again = new Uint8Array(AsnConvert.serialize(value));
  } catch (cause) {
    throw new TspError("usage", message, { cause });
  }
  if (!bytesEqual(again, bytes)) {
    const why =
      again.length < bytes.length && bytesEqual(again, bytes.subarray(0, again.length))
        ? "trailing data after the structure"
        : "not DER (it does not re-encode to its own bytes)";
    throw new TspError("usage", `${message}: ${why}`);
  }
  return value;
}

/** Whether `der` parses strictly as `type` (to tell the formats of a DER file apart). */
function parsesAs(der: Uint8Array, type: new () => object): boolean {
  try {
    parseStrict(der, type, "");
    return true;
  } catch {
    return false;
  }
}

/** node's own conversion of a PKCS#1 or SEC1 key into PKCS#8, after the schema's strict check. */
function toPkcs8(der: Uint8Array, type: "pkcs1" | "sec1"): Uint8Array {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: "der", type });
  } catch (cause) {
    const what = type === "pkcs1" ? "PKCS#1 RSA" : "SEC1 EC";
    throw new TspError("usage", `not a valid ${what} private key`, { cause });
  }
  return new Uint8Array(key.export({ format: "der", type: "pkcs8" }));
}

function fromSec1(der: Uint8Array): Uint8Array {
  const ec = parseStrict(der, ECPrivateKey, "not a SEC1 EC private key");
  if (!ec.parameters?.namedCurve) {
    throw new TspError("usage", "the SEC1 EC private key names no curve (named curves only)");
  }
  return toPkcs8(der, "sec1");
}

function encryptedFile(der: Uint8Array): PrivateKeyFile {
  const info = parseStrict(der, EncryptedPrivateKeyInfo, "not an encrypted PKCS#8 private key");
  return { encrypted: true, der, algorithm: info.encryptionAlgorithm.algorithm };
}

/**
 * Reads a private key file: PEM by its label, DER by the structure that parses. Anything
 * else is a usage error (exit 2). Nothing here needs the pass phrase.
 */
export function readPrivateKeyFile(input: Uint8Array): PrivateKeyFile {
  const { der, label } = decodePemOrDer(input, PRIVATE_KEY_LABELS);
  if (label === "PRIVATE KEY") {
    parseStrict(der, PrivateKeyInfo, "not a PKCS#8 private key");
    return { encrypted: false, pkcs8: der };
  }
  if (label === "ENCRYPTED PRIVATE KEY") return encryptedFile(der);
  if (label === "RSA PRIVATE KEY") {
    parseStrict(der, RSAPrivateKey, "not a PKCS#1 RSA private key");
    return { encrypted: false, pkcs8: toPkcs8(der, "pkcs1") };
  }
  if (label === "EC PRIVATE KEY") return { encrypted: false, pkcs8: fromSec1(der) };
  // DER: whichever structure parses strictly.
  if (parsesAs(der, PrivateKeyInfo)) return { encrypted: false, pkcs8: der };
  if (parsesAs(der, EncryptedPrivateKeyInfo)) return encryptedFile(der);
  if (parsesAs(der, RSAPrivateKey)) return { encrypted: false, pkcs8: toPkcs8(der, "pkcs1") };
  if (parsesAs(der, ECPrivateKey)) return { encrypted: false, pkcs8: fromSec1(der) };
  throw new TspError(
    "usage",
    "not a private key: expected PKCS#8 (plain or encrypted), PKCS#1 RSA or SEC1 EC, PEM or DER",
  );
}

/**
 * The PKCS#8 inside an encrypted PKCS#8 file. A wrong pass phrase is exit 4; an encryption
 * node's OpenSSL does not offer is exit 2 naming it.
 */
export function decryptPrivateKeyFile(
  file: Extract<PrivateKeyFile, { encrypted: true }>,
  passphrase: string,
): Uint8Array {
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: Buffer.from(file.der),
      format: "der",
      type: "pkcs8",
      passphrase,
    });
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && code.includes("UNSUPPORTED")) {
      throw new TspError("usage", `unsupported encryption ${file.algorithm}`, { cause });
    }
    throw new TspError("auth", "wrong pass phrase", { cause });
  }
  return new Uint8Array(key.export({ format: "der", type: "pkcs8" }));
}

/** Signs and verifies a test message on the host: the halves must belong together. */
function checkPair(privateKey: KeyObject, publicKey: KeyObject): void {
  const message = Buffer.from("tsp11 key import check");
  const digest = privateKey.asymmetricKeyType?.startsWith("ed") ? null : "sha256";
  let ok: boolean;
  try {
    ok = verify(digest, message, publicKey, sign(digest, message, privateKey));
  } catch {
    ok = false;
  }
  if (!ok) throw new TspError("usage", "the private key does not match its public key");
}

function rsaParts(privateKey: ArrayBuffer): RsaPrivateParts {
  const rsa = parseStrict(privateKey, RSAPrivateKey, "not a valid RSA private key");
  if (rsa.version !== 0) throw new TspError("usage", "multi-prime RSA keys are not supported");
  const u = (n: ArrayBuffer) => integerToUnsigned(n);
  return {
    modulus: u(rsa.modulus),
    publicExponent: u(rsa.publicExponent),
    privateExponent: u(rsa.privateExponent),
    prime1: u(rsa.prime1),
    prime2: u(rsa.prime2),
    exponent1: u(rsa.exponent1),
    exponent2: u(rsa.exponent2),
    coefficient: u(rsa.coefficient),
  };
}

function ecParts(
  algorithmParameters: ArrayBuffer | null | undefined,
  privateKey: ArrayBuffer,
  point: Uint8Array,
): Pick<PrivateKeyParts, "ecParams" | "value" | "curve" | "bits"> {
  const params = algorithmParameters ? new Uint8Array(algorithmParameters) : undefined;
  const named = params
    ? parseStrict(params, ECParameters, "the EC key's curve is malformed").namedCurve
    : undefined;
  if (!params || !named) {
    throw new TspError("usage", "the EC private key names no curve (named curves only)");
  }
  const ec = parseStrict(privateKey, ECPrivateKey, "not a valid EC private key");
  if (ec.parameters && !bytesEqual(new Uint8Array(AsnConvert.serialize(ec.parameters)), params)) {
    throw new TspError("usage", "the EC private key names two different curves");
  }
  const fieldBytes = (point.length - 1) / 2;
  const scalar = fromArrayBuffer(ec.privateKey.buffer);
  if (scalar.length > fieldBytes) throw new TspError("usage", "the EC private key is too long");
  // CKA_VALUE of an EC key: the scalar at the field's length, as keys generated on tokens are.
  const value = new Uint8Array(fieldBytes);
  value.set(scalar, fieldBytes - scalar.length);
  const curve = curveFromEcParams(params);
  return { ecParams: params, value, curve: curve?.name ?? named, bits: curve?.bits ?? 0 };
}

/**
 * A plain PKCS#8 key in PKCS#11's terms: RSA (its eight CRT numbers), EC on a named curve
 * (scalar and point), Ed25519/Ed448 (the key bytes). Other algorithms are exit 2.
 */
export function privateKeyParts(pkcs8: Uint8Array): PrivateKeyParts {
  const info = parseStrict(pkcs8, PrivateKeyInfo, "not a PKCS#8 private key");
  const oid = info.privateKeyAlgorithm.algorithm;
  if (oid !== OID_RSA && oid !== OID_EC_PUBLIC_KEY && !EDWARDS_OIDS[oid]) {
    throw new TspError("usage", `unsupported private key algorithm ${oid} (RSA, EC, EdDSA)`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
  } catch (cause) {
    throw new TspError("usage", "not a valid private key", { cause });
  }
  const publicKey = createPublicKey(privateKey);
  checkPair(privateKey, publicKey);
  const spki = new Uint8Array(publicKey.export({ format: "der", type: "spki" }));
  const publicInfo = parseSpki(spki);
  const inner = info.privateKey.buffer;

  if (oid === OID_RSA) {
    const rsa = rsaParts(inner);
    return { keyType: "rsa", bits: bitLength(rsa.modulus), rsa, spki };
  }
  const point = publicInfo.ecPoint ?? new Uint8Array();
  if (oid === OID_EC_PUBLIC_KEY) {
    const parts = ecParts(info.privateKeyAlgorithm.parameters, inner, point);
    const bits = parts.bits || ((point.length - 1) / 2) * 8;
    return { keyType: "ec", ...parts, bits, ecPoint: point, spki };
  }
  const value = fromArrayBuffer(parseStrict(inner, OctetString, "not a valid EdDSA key").buffer);
  const curve = curveFromOid(oid);
  if (!curve || value.length !== EDWARDS_OIDS[oid]) {
    throw new TspError("usage", "not a valid EdDSA private key");
  }
  return {
    keyType: "ec-edwards",
    bits: curve.bits,
    curve: curve.name,
    ecParams: Uint8Array.from(Buffer.from(curve.ecParamsHex, "hex")),
    value,
    ecPoint: point,
    spki,
  };
}
