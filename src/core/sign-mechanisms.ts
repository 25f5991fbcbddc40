/**
 * The signature mechanisms `sign`, `verify` and `req` know, by pkcs11-tool's names: which key
 * type each needs, which hash it computes, and the option parsers around them. Pure and
 * light on purpose (no PKCS#11, no ASN.1): command files import it at the top.
 */
import { usageError } from "../errors.js";

export type Hash = "sha256" | "sha384" | "sha512";
export const HASH_NAMES: readonly Hash[] = ["sha256", "sha384", "sha512"];

export const HASH_BYTES: Readonly<Record<Hash, number>> = { sha256: 32, sha384: 48, sha512: 64 };

export const SIGN_MECHANISM_NAMES = [
  "RSA-PKCS",
  "SHA256-RSA-PKCS",
  "SHA384-RSA-PKCS",
  "SHA512-RSA-PKCS",
  "RSA-PKCS-PSS",
  "SHA256-RSA-PKCS-PSS",
  "SHA384-RSA-PKCS-PSS",
  "SHA512-RSA-PKCS-PSS",
  "ECDSA",
  "ECDSA-SHA256",
  "ECDSA-SHA384",
  "ECDSA-SHA512",
  "EDDSA",
  "SHA256-HMAC",
  "SHA384-HMAC",
  "SHA512-HMAC",
] as const;

export type SignMechanismName = (typeof SIGN_MECHANISM_NAMES)[number];

export type SigningKeyType = "rsa" | "ec" | "ec-edwards" | "secret";

/** Secret key types an HMAC takes: generic secrets, and AES keys where the module allows. */
export const HMAC_KEY_TYPES: readonly string[] = ["generic-secret", "aes"];

export interface SignMechanismSpec {
  keyType: SigningKeyType;
  scheme: "rsa-pkcs1" | "rsa-pss" | "ecdsa" | "eddsa" | "hmac";
  /** The hash a combined mechanism computes over the input; absent for the raw ones. */
  hash?: Hash;
  /** The raw mechanism that signs a host-made digest when the module lacks this one. */
  raw?: SignMechanismName;
}

export const SIGN_MECHANISMS: Readonly<Record<SignMechanismName, SignMechanismSpec>> = {
  "RSA-PKCS": { keyType: "rsa", scheme: "rsa-pkcs1" },
  "SHA256-RSA-PKCS": { keyType: "rsa", scheme: "rsa-pkcs1", hash: "sha256", raw: "RSA-PKCS" },
  "SHA384-RSA-PKCS": { keyType: "rsa", scheme: "rsa-pkcs1", hash: "sha384", raw: "RSA-PKCS" },
  "SHA512-RSA-PKCS": { keyType: "rsa", scheme: "rsa-pkcs1", hash: "sha512", raw: "RSA-PKCS" },
  "RSA-PKCS-PSS": { keyType: "rsa", scheme: "rsa-pss" },
  "SHA256-RSA-PKCS-PSS": {
    keyType: "rsa",
    scheme: "rsa-pss",
    hash: "sha256",
    raw: "RSA-PKCS-PSS",
  },
  "SHA384-RSA-PKCS-PSS": {
    keyType: "rsa",
    scheme: "rsa-pss",
    hash: "sha384",
    raw: "RSA-PKCS-PSS",
  },
  "SHA512-RSA-PKCS-PSS": {
    keyType: "rsa",
    scheme: "rsa-pss",
    hash: "sha512",
    raw: "RSA-PKCS-PSS",
  },
  ECDSA: { keyType: "ec", scheme: "ecdsa" },
  "ECDSA-SHA256": { keyType: "ec", scheme: "ecdsa", hash: "sha256", raw: "ECDSA" },
  "ECDSA-SHA384": { keyType: "ec", scheme: "ecdsa", hash: "sha384", raw: "ECDSA" },
  "ECDSA-SHA512": { keyType: "ec", scheme: "ecdsa", hash: "sha512", raw: "ECDSA" },
  EDDSA: { keyType: "ec-edwards", scheme: "eddsa" },
  "SHA256-HMAC": { keyType: "secret", scheme: "hmac", hash: "sha256" },
  "SHA384-HMAC": { keyType: "secret", scheme: "hmac", hash: "sha384" },
  "SHA512-HMAC": { keyType: "secret", scheme: "hmac", hash: "sha512" },
};

/** The mechanisms of our table that fit a key type, in table order. */
export function mechanismsForKeyType(keyType: string): SignMechanismName[] {
  const type = HMAC_KEY_TYPES.includes(keyType) ? "secret" : keyType;
  return SIGN_MECHANISM_NAMES.filter((name) => SIGN_MECHANISMS[name].keyType === type);
}

/**
 * The mechanism used when none is given: SHA256-RSA-PKCS for RSA, ECDSA-SHA256 for EC,
 * EDDSA for Edwards keys; `--hash` picks the RSA and ECDSA variant.
 */
export function defaultMechanism(keyType: string, hash: Hash = "sha256"): SignMechanismName {
  switch (keyType) {
    case "rsa":
      return `${hashTag(hash)}-RSA-PKCS` as SignMechanismName;
    case "ec":
      return `ECDSA-${hashTag(hash)}` as SignMechanismName;
    case "ec-edwards":
      return "EDDSA";
    case "secret":
    case "generic-secret":
      return `${hashTag(hash)}-HMAC` as SignMechanismName;
    default:
      throw usageError(
        `${keyTypeWords(keyType)}: it does not sign by default (RSA, EC, Edwards and HMAC generic-secret keys do)${keyType === "aes" ? "; name an HMAC mechanism (-m SHA256-HMAC) where the module allows AES keys for it" : ""}`,
      );
  }
}

/** "that key is a secret key (aes)": what a key that cannot sign is. */
function keyTypeWords(keyType: string): string {
  const secret = keyType === "aes" || keyType === "des3" || keyType === "des";
  return secret ? `that key is a secret key (${keyType})` : `that key is a ${keyType} key`;
}

function hashTag(hash: Hash): string {
  return hash.toUpperCase();
}

/**
 * `SHA256-RSA-PKCS` as pkcs11-tool writes it; case-insensitive, with `_` for `-` and an
 * optional `CKM_` prefix (`ckm_sha256_rsa_pkcs`).
 */
export function parseMechanismName(text: string): SignMechanismName {
  const normalized = text
    .trim()
    .toUpperCase()
    .replace(/^CKM[-_]/, "")
    .replaceAll("_", "-");
  const found = SIGN_MECHANISM_NAMES.find((name) => name === normalized);
  if (!found) {
    throw usageError(
      `unknown signature mechanism "${text}": accepted: ${SIGN_MECHANISM_NAMES.join(", ")}`,
    );
  }
  return found;
}

/** `sha256`, `SHA-256`, `SHA256` (any case). */
export function parseHash(text: string): Hash {
  const normalized = text.trim().toLowerCase().replace("-", "");
  const found = HASH_NAMES.find((hash) => hash === normalized);
  if (!found) throw usageError(`unknown hash "${text}": accepted: ${HASH_NAMES.join(", ")}`);
  return found;
}

/** `MGF1-SHA256` (pkcs11-tool's spelling) or just the hash, `sha256`. */
export function parseMgf(text: string): Hash {
  const normalized = text.trim().replace(/^mgf1[-_]?/i, "");
  try {
    return parseHash(normalized);
  } catch {
    throw usageError(
      `unknown MGF "${text}": accepted: ${HASH_NAMES.map((h) => `MGF1-${hashTag(h)}`).join(", ")}`,
    );
  }
}

/** PSS salt length in bytes; -1 means the hash length, -2 the largest the key allows. */
export function parseSaltLen(text: string): number {
  const value = text.trim();
  if (!/^(-[12]|\d+)$/.test(value)) {
    throw usageError(
      `invalid salt length "${text}": expected bytes (0, 32, ...), -1 (hash length) or -2 (maximum)`,
    );
  }
  return Number(value);
}

/**
 * DER DigestInfo (RFC 8017 section 9.2) = this prefix ‖ digest: what CKM_RSA_PKCS signs
 * when the hash was made on the host. Spelled out so signing needs no ASN.1 library.
 */
export const DIGEST_INFO_PREFIX: Readonly<Record<Hash, string>> = {
  sha256: "3031300d060960864801650304020105000420",
  sha384: "3041300d060960864801650304020205000430",
  sha512: "3051300d060960864801650304020305000440",
};

export function digestInfoOf(hash: Hash, digest: Uint8Array): Buffer {
  if (digest.length !== HASH_BYTES[hash]) {
    throw usageError(
      `a ${hash} digest is ${HASH_BYTES[hash]} bytes, the input has ${digest.length}`,
    );
  }
  return Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash], "hex"), digest]);
}
