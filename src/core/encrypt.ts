/**
 * `tsp11 encrypt` (and the plan `decrypt` shares): which mechanism a key encrypts with, its
 * parameters (IV, AAD, tag length, OAEP hash and label), and running it over a stream. AES
 * streams through C_EncryptUpdate into one reused buffer (flat memory at any size); RSA takes
 * one block, encrypted by the token's public key object, or on the host from that key when
 * the token's public key cannot encrypt (no CKA_ENCRYPT, or parameters the module refuses).
 */
import { constants, createPublicKey, publicEncrypt } from "node:crypto";
import { TspError, usageError } from "../errors.js";
import type { CipherMechanismName, Direction, HashName } from "../pkcs11/cipher.js";
import {
  CIPHER_CKM,
  CipherOperation,
  cryptOnce,
  ctrMechanism,
  gcmMechanism,
  generateRandom,
  oaepMechanism,
  plainMechanism,
} from "../pkcs11/cipher.js";
import { isCkr } from "../pkcs11/ckr.js";
import type { Mechanism } from "../pkcs11/lib.js";
import { mechanismName } from "../pkcs11/mechanisms.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { KeySelector, TokenKey } from "./find-key.js";
import { findKey } from "./find-key.js";
import type { Chunks } from "./signing.js";
import { findVerifyingKey, forEachChunk } from "./signing.js";

export const CIPHER_NAMES = [
  "RSA-PKCS-OAEP",
  "RSA-PKCS",
  "AES-GCM",
  "AES-CBC-PAD",
  "AES-CTR",
  "AES-ECB",
] as const;
export type CipherName = (typeof CIPHER_NAMES)[number];

const HASH_BYTES: Readonly<Record<HashName, number>> = {
  sha1: 20,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

export const OAEP_HASHES: readonly HashName[] = ["sha1", "sha256", "sha384", "sha512"];

/** `AES-GCM`, `aes_gcm`, `CKM_AES_GCM` (any case). */
export function parseCipherName(text: string): CipherName {
  const normalized = text
    .trim()
    .toUpperCase()
    .replace(/^CKM[-_]/, "")
    .replaceAll("_", "-");
  const found = CIPHER_NAMES.find((name) => name === normalized);
  if (!found) {
    throw usageError(`unknown cipher mechanism "${text}": accepted: ${CIPHER_NAMES.join(", ")}`);
  }
  return found;
}

/** `sha256`, `SHA-256`, `sha1`, for OAEP's hash and MGF1 (`MGF1-SHA256` too). */
export function parseOaepHash(text: string): HashName {
  const normalized = text
    .trim()
    .toLowerCase()
    .replace(/^mgf1[-_]?/, "")
    .replace(/[-_]/g, "");
  const found = OAEP_HASHES.find((hash) => hash === normalized);
  if (!found) throw usageError(`unknown hash "${text}": accepted: ${OAEP_HASHES.join(", ")}`);
  return found;
}

export interface CipherRequest {
  /** Default: RSA-PKCS-OAEP for RSA keys, AES-GCM for AES keys. */
  mechanism?: CipherName | undefined;
  /** OAEP hash (default sha256) and MGF1 hash (default: the hash). */
  hash?: HashName | undefined;
  mgf?: HashName | undefined;
  oaepLabel?: Uint8Array | undefined;
  /** AES: the IV / nonce (default: random, 12 bytes for GCM, 16 for CBC and CTR). */
  iv?: Uint8Array | undefined;
  /** AES-GCM: additional authenticated data, and the tag length (default 128). */
  aad?: Uint8Array | undefined;
  tagBits?: number | undefined;
}

export interface CipherPlan {
  name: CipherName;
  keyType: "rsa" | "aes";
  /** The IV / nonce, when the mechanism takes one. */
  iv: Buffer | undefined;
  tagBits: number | undefined;
  oaep: { hash: HashName; mgf: HashName; label: Buffer | undefined } | undefined;
  mechanism: Mechanism;
  /** RSA: modulus bytes (the ciphertext length). */
  modulusBytes: number | undefined;
}

/** The IV length each AES mode takes (GCM: the default; any length 1..256 is accepted). */
export function ivBytesOf(name: CipherName): number {
  if (name === "AES-GCM") return 12;
  if (name === "AES-CBC-PAD" || name === "AES-CTR") return 16;
  return 0;
}

function keyName(key: TokenKey): string {
  return key.label !== "" ? `"${key.label}"` : `with id ${Buffer.from(key.id).toString("hex")}`;
}

function checkOptions(name: CipherName, request: CipherRequest): void {
  const rsa = name.startsWith("RSA");
  const oaep = name === "RSA-PKCS-OAEP";
  const given = (value: unknown, option: string, fits: boolean) => {
    if (value !== undefined && !fits) throw usageError(`${option} does not apply to ${name}`);
  };
  given(request.hash, "--hash", oaep);
  given(request.mgf, "--mgf", oaep);
  given(request.oaepLabel, "--oaep-label", oaep);
  given(request.iv, "--iv", !rsa && name !== "AES-ECB");
  given(request.aad, "--aad", name === "AES-GCM");
  given(request.tagBits, "--tag-bits", name === "AES-GCM");
  if (request.tagBits !== undefined && ![96, 104, 112, 120, 128].includes(request.tagBits)) {
    throw usageError(`--tag-bits ${request.tagBits}: accepted: 96, 104, 112, 120, 128`);
  }
  const ivBytes = ivBytesOf(name);
  if (request.iv !== undefined && name !== "AES-GCM" && request.iv.length !== ivBytes) {
    throw usageError(`${name} takes a ${ivBytes}-byte IV; --iv has ${request.iv.length} bytes`);
  }
  if (request.iv !== undefined && (request.iv.length < 1 || request.iv.length > 256)) {
    throw usageError("AES-GCM takes a nonce of 1..256 bytes");
  }
}

/** The cipher mechanisms of our table this token offers for a key type. */
export function offeredCiphers(session: TokenSession, keyType: "rsa" | "aes"): CipherName[] {
  return CIPHER_NAMES.filter(
    (name) =>
      name.startsWith(keyType.toUpperCase()) &&
      session.hasMechanism(CIPHER_CKM[name as CipherMechanismName]),
  );
}

/**
 * Decides the mechanism and its parameters for `key`. A mechanism of another key type, or
 * one the token does not list (C_GetMechanismList), is a usage error naming what it offers.
 * `iv` is the IV to use; encrypt passes undefined to get a random one.
 */
export function planCipher(
  session: TokenSession,
  key: TokenKey,
  request: CipherRequest,
  direction: Direction,
): CipherPlan {
  if (key.keyType !== "rsa" && key.keyType !== "aes") {
    throw usageError(`key ${keyName(key)} is a ${key.keyType} key: RSA and AES keys encrypt`);
  }
  const keyType = key.keyType;
  const name = request.mechanism ?? (keyType === "rsa" ? "RSA-PKCS-OAEP" : "AES-GCM");
  if (!name.startsWith(keyType.toUpperCase())) {
    throw usageError(
      `${name} needs ${name.startsWith("RSA") ? "an RSA" : "an AES"} key; key ${keyName(key)} is ${keyType} and can use: ${offeredCiphers(session, keyType).join(", ") || "nothing this token offers"}`,
    );
  }
  checkOptions(name, request);
  const ckm = CIPHER_CKM[name];
  // RSA encryption can run on the host from the public key; everything else needs the token.
  const hostCanDo = keyType === "rsa" && direction === "encrypt";
  if (!session.hasMechanism(ckm) && !hostCanDo) {
    throw new TspError(
      "usage",
      `the token does not offer ${mechanismName(ckm)}; it offers for ${keyType.toUpperCase()} keys: ${offeredCiphers(session, keyType).join(", ") || "nothing"}`,
      { ckr: "CKR_MECHANISM_INVALID" },
    );
  }
  let iv: Buffer | undefined;
  const ivBytes = ivBytesOf(name);
  if (ivBytes > 0) {
    iv = request.iv ? Buffer.from(request.iv) : generateRandom(session, ivBytes);
  }
  const tagBits = name === "AES-GCM" ? (request.tagBits ?? 128) : undefined;
  const oaep =
    name === "RSA-PKCS-OAEP"
      ? {
          hash: request.hash ?? "sha256",
          mgf: request.mgf ?? request.hash ?? "sha256",
          label:
            request.oaepLabel && request.oaepLabel.length > 0
              ? Buffer.from(request.oaepLabel)
              : undefined,
        }
      : undefined;
  let mechanism: Mechanism;
  if (oaep) mechanism = oaepMechanism(oaep.hash, oaep.mgf, oaep.label);
  else if (name === "AES-GCM") mechanism = gcmMechanism(iv as Buffer, request.aad, tagBits ?? 128);
  else if (name === "AES-CTR") mechanism = ctrMechanism(iv as Buffer);
  else mechanism = plainMechanism(name, iv);
  return {
    name,
    keyType,
    iv,
    tagBits,
    oaep,
    mechanism,
    modulusBytes: key.bits !== undefined ? Math.ceil(key.bits / 8) : undefined,
  };
}

/**
 * The key that encrypts: a secret key of that name, else the public key (or the public half
 * of the private key the selector names).
 */
export function findEncryptionKey(session: TokenSession, selector: KeySelector): TokenKey {
  try {
    return findKey(session, "secret-key", selector);
  } catch (error) {
    if (!(error instanceof TspError) || error.kind !== "not-found") throw error;
  }
  return findVerifyingKey(session, selector);
}

/** The longest message RSA encrypts with this plan (RFC 8017 7.1.1, 7.2.1). */
export function maxRsaInput(plan: CipherPlan): number | undefined {
  if (plan.modulusBytes === undefined) return undefined;
  if (plan.oaep) return plan.modulusBytes - 2 * HASH_BYTES[plan.oaep.hash] - 2;
  return plan.modulusBytes - 11;
}

/** Collects a one-block input, refusing more than `limit` bytes as soon as it is passed. */
export async function collectBlock(chunks: Chunks, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  await forEachChunk(chunks, (chunk) => {
    length += chunk.length;
    if (length > limit) throw usageError(`${what}: the input is longer than ${limit} bytes`);
    parts.push(Buffer.from(chunk));
  });
  return Buffer.concat(parts, length);
}

/** Whether the token's refusal means "encrypt on the host from the public key instead". */
function tokenCannotEncrypt(error: unknown): boolean {
  return isCkr(
    error,
    "CKR_KEY_FUNCTION_NOT_PERMITTED",
    "CKR_MECHANISM_INVALID",
    "CKR_MECHANISM_PARAM_INVALID",
    "CKR_ARGUMENTS_BAD",
    "CKR_KEY_TYPE_INCONSISTENT",
  );
}

/** RSA encryption with node's OpenSSL from the token's public key (modulus, exponent). */
function hostRsaEncrypt(
  session: TokenSession,
  key: TokenKey,
  plan: CipherPlan,
  data: Buffer,
): Buffer {
  const { modulus, publicExponent } = session.read(key.handle, ["modulus", "publicExponent"]);
  if (!modulus || !publicExponent) {
    throw new TspError("failure", `encrypt: key ${keyName(key)} has no readable modulus`);
  }
  const publicKey = createPublicKey({
    key: { kty: "RSA", n: modulus.toString("base64url"), e: publicExponent.toString("base64url") },
    format: "jwk",
  });
  if (plan.oaep && plan.oaep.mgf !== plan.oaep.hash) {
    throw usageError(
      `encrypt: the token refused RSA-PKCS-OAEP with these parameters, and the host takes only MGF1 with the OAEP hash (--mgf ${plan.oaep.hash})`,
    );
  }
  return publicEncrypt(
    plan.oaep
      ? {
          key: publicKey,
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: plan.oaep.hash,
          ...(plan.oaep.label ? { oaepLabel: plan.oaep.label } : {}),
        }
      : { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
    data,
  );
}

export interface RsaResult {
  output: Buffer;
  /** "token": C_Encrypt ran; "host": the token's public key could not, node encrypted. */
  path: "token" | "host";
}

/** RSA encryption of one block: the token first, the host from the same public key second. */
export function rsaEncrypt(
  session: TokenSession,
  key: TokenKey,
  plan: CipherPlan,
  data: Buffer,
): RsaResult {
  const limit = maxRsaInput(plan);
  if (limit !== undefined && data.length > limit) {
    throw usageError(
      `${plan.name} encrypts at most ${limit} bytes with this key; the input has ${data.length}`,
    );
  }
  if (session.hasMechanism(CIPHER_CKM[plan.name])) {
    try {
      const output = cryptOnce(
        session,
        "encrypt",
        plan.mechanism,
        key.handle,
        data,
        plan.modulusBytes ?? 2048,
      );
      return { output, path: "token" };
    } catch (error) {
      if (!tokenCannotEncrypt(error)) throw error;
    }
  }
  return { output: hostRsaEncrypt(session, key, plan, data), path: "host" };
}

/** Where the output of a streamed operation goes, a part at a time (valid until it returns). */
export interface ByteSink {
  write(bytes: Buffer): void;
}

/** Per update: the input chunk, plus a block of padding, plus a GCM tag. */
const OUTPUT_SLACK = 64;

/**
 * AES over a stream: C_EncryptUpdate / C_DecryptUpdate per chunk into one reused buffer,
 * handed to `sink` before the next chunk is read. Returns the bytes written. A module that
 * holds back a GCM decryption until the tag is checked (SoftHSM) answers it all at the end:
 * the final buffer is sized for the whole input then.
 */
export async function aesStream(
  session: TokenSession,
  key: TokenKey,
  plan: CipherPlan,
  direction: Direction,
  chunks: Chunks,
  sink: ByteSink,
): Promise<number> {
  const operation = new CipherOperation(session, direction, plan.mechanism, key.handle);
  // SoftHSM holds a GCM decryption back until the tag is checked and wants room for all of
  // it at each update: the buffer then grows with the input (doubling).
  const holdsBack = plan.name === "AES-GCM" && direction === "decrypt";
  let output = Buffer.allocUnsafe(64 * 1024 + OUTPUT_SLACK);
  let read = 0;
  let written = 0;
  try {
    await forEachChunk(chunks, (chunk) => {
      read += chunk.length;
      const room = (holdsBack ? read : chunk.length) + OUTPUT_SLACK;
      if (output.length < room) output = Buffer.allocUnsafe(Math.max(room, 2 * output.length));
      const part = operation.update(chunk, output);
      if (part.length > 0) {
        written += part.length;
        sink.write(part);
      }
    });
  } catch (error) {
    operation.abort();
    throw error;
  }
  const last = operation.final(
    holdsBack ? Buffer.allocUnsafe(read + OUTPUT_SLACK) : Buffer.allocUnsafe(OUTPUT_SLACK),
  );
  if (last.length > 0) {
    written += last.length;
    sink.write(last);
  }
  return written;
}
