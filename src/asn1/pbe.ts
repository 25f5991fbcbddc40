/**
 * Password-based decryption as PKCS#12 files use it: PBES2 (RFC 8018: PBKDF2 with an HMAC,
 * then AES-CBC or DES-EDE3-CBC) as OpenSSL 3 writes by default, and the PKCS#12 PBE schemes
 * (RFC 7292 appendix B/C: 3DES, RC2, RC4 keyed by the PKCS#12 KDF) of `-legacy` bundles. The
 * ciphers and hashes are node:crypto's; the parameter structures are schema classes.
 */
import { createDecipheriv, createHash, getCiphers, pbkdf2Sync } from "node:crypto";
import { AsnProp, AsnPropTypes, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { TspError } from "../errors.js";
import { parseDer } from "./der.js";

/** PBKDF2-params (RFC 8018 A.2); only the `specified` salt choice is used in practice. */
class Pbkdf2Params {
  @AsnProp({ type: OctetString })
  salt = new OctetString();
  @AsnProp({ type: AsnPropTypes.Integer })
  iterationCount = 0;
  @AsnProp({ type: AsnPropTypes.Integer, optional: true })
  keyLength?: number;
  @AsnProp({ type: AlgorithmIdentifier, optional: true })
  prf?: AlgorithmIdentifier;
}

/** PBES2-params (RFC 8018 A.4). */
class Pbes2Params {
  @AsnProp({ type: AlgorithmIdentifier })
  keyDerivationFunc = new AlgorithmIdentifier();
  @AsnProp({ type: AlgorithmIdentifier })
  encryptionScheme = new AlgorithmIdentifier();
}

/** pkcs-12PbeParams (RFC 7292 C). */
class Pkcs12PbeParams {
  @AsnProp({ type: OctetString })
  salt = new OctetString();
  @AsnProp({ type: AsnPropTypes.Integer })
  iterations = 0;
}

const OID_PBES2 = "1.2.840.113549.1.5.13";
const OID_PBKDF2 = "1.2.840.113549.1.5.12";

/** HMAC PRFs of PBKDF2 (RFC 8018 B.1.2); hmacWithSHA1 is the default. */
const PRFS: Readonly<Record<string, string>> = {
  "1.2.840.113549.2.7": "sha1",
  "1.2.840.113549.2.8": "sha224",
  "1.2.840.113549.2.9": "sha256",
  "1.2.840.113549.2.10": "sha384",
  "1.2.840.113549.2.11": "sha512",
};

/** PBES2 encryption schemes: node's cipher name and key length. */
const PBES2_CIPHERS: Readonly<Record<string, { cipher: string; keyLength: number }>> = {
  "2.16.840.1.101.3.4.1.2": { cipher: "aes-128-cbc", keyLength: 16 },
  "2.16.840.1.101.3.4.1.22": { cipher: "aes-192-cbc", keyLength: 24 },
  "2.16.840.1.101.3.4.1.42": { cipher: "aes-256-cbc", keyLength: 32 },
  "1.2.840.113549.3.7": { cipher: "des-ede3-cbc", keyLength: 24 },
};

interface Pkcs12Scheme {
  name: string;
  cipher: string;
  keyLength: number;
  ivLength: number;
}

/** The PKCS#12 PBE schemes (RFC 7292 C), all keyed with SHA-1. */
const PKCS12_SCHEMES: Readonly<Record<string, Pkcs12Scheme>> = {
  "1.2.840.113549.1.12.1.1": { name: "RC4-128", cipher: "rc4", keyLength: 16, ivLength: 0 },
  "1.2.840.113549.1.12.1.2": { name: "RC4-40", cipher: "rc4-40", keyLength: 5, ivLength: 0 },
  "1.2.840.113549.1.12.1.3": {
    name: "3DES (3-key)",
    cipher: "des-ede3-cbc",
    keyLength: 24,
    ivLength: 8,
  },
  "1.2.840.113549.1.12.1.4": {
    name: "3DES (2-key)",
    cipher: "des-ede-cbc",
    keyLength: 16,
    ivLength: 8,
  },
  "1.2.840.113549.1.12.1.5": { name: "RC2-128", cipher: "rc2-cbc", keyLength: 16, ivLength: 8 },
  "1.2.840.113549.1.12.1.6": { name: "RC2-40", cipher: "rc2-40-cbc", keyLength: 5, ivLength: 8 },
};

/** Hash output and block sizes for the PKCS#12 KDF. */
const HASH_SIZES: Readonly<Record<string, { u: number; v: number }>> = {
  sha1: { u: 20, v: 64 },
  sha224: { u: 28, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

/** The PKCS#12 KDF's purposes (RFC 7292 B.3). */
export const KDF_KEY = 1;
export const KDF_IV = 2;
export const KDF_MAC = 3;

/** A password as the PKCS#12 KDF takes it: BMPString (UTF-16BE) with a two-byte terminator. */
export function bmpPassword(password: string): Buffer {
  const units = Buffer.from(password + "\0", "utf16le");
  return units.swap16();
}

/** `block` repeated to fill a multiple of `v` bytes (empty stays empty). */
function fill(block: Uint8Array, v: number): Buffer {
  if (block.length === 0) return Buffer.alloc(0);
  const length = v * Math.ceil(block.length / v);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = block[i % block.length] ?? 0;
  return out;
}

/** RFC 7292 appendix B.2: `n` bytes for purpose `id` from a BMPString password and a salt. */
export function pkcs12Kdf(
  hash: string,
  password: Uint8Array,
  salt: Uint8Array,
  id: number,
  iterations: number,
  n: number,
): Buffer {
  const sizes = HASH_SIZES[hash];
  if (!sizes) throw new TspError("usage", `PKCS#12 key derivation: unsupported hash ${hash}`);
  const { u, v } = sizes;
  const diversifier = Buffer.alloc(v, id);
  const input = Buffer.concat([fill(salt, v), fill(password, v)]);
  const out: Buffer[] = [];
  for (let produced = 0; produced < n; produced += u) {
    let a = createHash(hash).update(diversifier).update(input).digest();
    for (let r = 1; r < iterations; r++) a = createHash(hash).update(a).digest();
    out.push(a);
    const b = fill(a, v);
    // I_j = (I_j + B + 1) mod 2^(8v), for each v-byte block of I.
    for (let j = 0; j < input.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (input[j + k] ?? 0) + (b[k] ?? 0) + carry;
        input[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, n);
}

/** Thrown when the cipher's padding does not check: with these schemes, a wrong password. */
function wrongPassword(what: string, cause?: unknown): TspError {
  return new TspError("auth", `${what}: wrong pass phrase`, { cause });
}

function runCipher(
  cipher: string,
  key: Uint8Array,
  iv: Uint8Array | null,
  data: Uint8Array,
  what: string,
): Uint8Array {
  let decipher;
  try {
    decipher = createDecipheriv(cipher, key, iv);
  } catch (cause) {
    throw new TspError("usage", `${what}: cipher ${cipher} is not available`, { cause });
  }
  try {
    return new Uint8Array(Buffer.concat([decipher.update(data), decipher.final()]));
  } catch (cause) {
    throw wrongPassword(what, cause);
  }
}

function decryptPbes2(
  parameters: ArrayBuffer | null | undefined,
  data: Uint8Array,
  password: string,
  what: string,
): Uint8Array {
  const bad = `${what}: malformed PBES2 parameters`;
  if (!parameters) throw new TspError("usage", bad);
  const pbes2 = parseDer(parameters, Pbes2Params, bad);
  if (pbes2.keyDerivationFunc.algorithm !== OID_PBKDF2) {
    throw new TspError(
      "usage",
      `${what}: unsupported key derivation ${pbes2.keyDerivationFunc.algorithm} (PBKDF2 is supported)`,
    );
  }
  const kdfParams = pbes2.keyDerivationFunc.parameters;
  if (!kdfParams) throw new TspError("usage", bad);
  const kdf = parseDer(kdfParams, Pbkdf2Params, bad);
  const prfOid = kdf.prf?.algorithm ?? "1.2.840.113549.2.7";
  const hash = PRFS[prfOid];
  const scheme = PBES2_CIPHERS[pbes2.encryptionScheme.algorithm];
  if (!hash || !scheme) {
    const oid = hash ? pbes2.encryptionScheme.algorithm : prfOid;
    throw new TspError("usage", `${what}: unsupported PBES2 algorithm ${oid}`);
  }
  const ivParams = pbes2.encryptionScheme.parameters;
  if (!ivParams) throw new TspError("usage", bad);
  const iv = new Uint8Array(parseDer(ivParams, OctetString, bad).buffer);
  const keyLength = kdf.keyLength ?? scheme.keyLength;
  const key = pbkdf2Sync(
    Buffer.from(password, "utf8"),
    new Uint8Array(kdf.salt.buffer),
    kdf.iterationCount,
    keyLength,
    hash,
  );
  return runCipher(scheme.cipher, key, iv, data, what);
}

function decryptPkcs12Pbe(
  scheme: Pkcs12Scheme,
  parameters: ArrayBuffer | null | undefined,
  data: Uint8Array,
  password: string,
  what: string,
): Uint8Array {
  if (!getCiphers().includes(scheme.cipher)) {
    throw new TspError(
      "usage",
      `${what}: ${scheme.name} (a legacy PKCS#12 cipher) is not available in this Node.js's OpenSSL; run with NODE_OPTIONS=--openssl-legacy-provider, or re-export the bundle without -legacy`,
    );
  }
  const bad = `${what}: malformed PKCS#12 PBE parameters`;
  if (!parameters) throw new TspError("usage", bad);
  const params = parseDer(parameters, Pkcs12PbeParams, bad);
  const salt = new Uint8Array(params.salt.buffer);
  const bmp = bmpPassword(password);
  const key = pkcs12Kdf("sha1", bmp, salt, KDF_KEY, params.iterations, scheme.keyLength);
  const iv =
    scheme.ivLength > 0
      ? pkcs12Kdf("sha1", bmp, salt, KDF_IV, params.iterations, scheme.ivLength)
      : null;
  return runCipher(scheme.cipher, key, iv, data, what);
}

/**
 * Decrypts `data` encrypted under `algorithm` with `password`. A padding that does not check
 * is a wrong password (exit 4); an algorithm tsp11 does not handle is exit 2 naming it.
 */
export function decryptWithPassword(
  algorithm: AlgorithmIdentifier,
  data: Uint8Array,
  password: string,
  what: string,
): Uint8Array {
  if (algorithm.algorithm === OID_PBES2) {
    return decryptPbes2(algorithm.parameters, data, password, what);
  }
  const scheme = PKCS12_SCHEMES[algorithm.algorithm];
  if (scheme) return decryptPkcs12Pbe(scheme, algorithm.parameters, data, password, what);
  throw new TspError("usage", `${what}: unsupported encryption algorithm ${algorithm.algorithm}`);
}
