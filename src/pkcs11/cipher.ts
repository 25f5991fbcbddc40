/**
 * Encryption, decryption, digests, random bytes, key wrapping and derivation on the token:
 * the raw C_Encrypt* / C_Decrypt* / C_Digest* / C_WrapKey / C_UnwrapKey / C_DeriveKey calls
 * and the CK_MECHANISM structures they take. Multi-part operations write into a buffer the
 * caller owns and reuses, so streaming a large input allocates nothing per chunk.
 */
import { TspError } from "../errors.js";
import { ckrOf, isCkr, pkcs11Failure, step } from "./ckr.js";
import type { Attribute, Handle, Mechanism } from "./lib.js";
import { ck } from "./lib.js";
import type { TokenSession } from "./session.js";

export type HashName = "sha1" | "sha256" | "sha384" | "sha512";

export const DIGEST_CKM: Readonly<Record<HashName, number>> = {
  sha1: ck.CKM_SHA_1,
  sha256: ck.CKM_SHA256,
  sha384: ck.CKM_SHA384,
  sha512: ck.CKM_SHA512,
};

const MGF1_CKG: Readonly<Record<HashName, number>> = {
  sha1: ck.CKG_MGF1_SHA1,
  sha256: ck.CKG_MGF1_SHA256,
  sha384: ck.CKG_MGF1_SHA384,
  sha512: ck.CKG_MGF1_SHA512,
};

/** Key derivation functions of CK_ECDH1_DERIVE_PARAMS. */
export const KDF_CKD: Readonly<Record<"null" | HashName, number>> = {
  null: ck.CKD_NULL,
  sha1: ck.CKD_SHA1_KDF,
  sha256: ck.CKD_SHA256_KDF,
  sha384: ck.CKD_SHA384_KDF,
  sha512: ck.CKD_SHA512_KDF,
};

/** CKM values of the cipher, wrap and derive mechanisms tsp11 names (pkcs11-tool's names). */
export const CIPHER_CKM = {
  "RSA-PKCS": ck.CKM_RSA_PKCS,
  "RSA-PKCS-OAEP": ck.CKM_RSA_PKCS_OAEP,
  "AES-GCM": ck.CKM_AES_GCM,
  "AES-CBC-PAD": ck.CKM_AES_CBC_PAD,
  "AES-CBC": ck.CKM_AES_CBC,
  "AES-CTR": ck.CKM_AES_CTR,
  "AES-ECB": ck.CKM_AES_ECB,
  "AES-KEY-WRAP": ck.CKM_AES_KEY_WRAP,
  "AES-KEY-WRAP-PAD": ck.CKM_AES_KEY_WRAP_PAD,
  "ECDH1-DERIVE": ck.CKM_ECDH1_DERIVE,
  "ECDH1-COFACTOR-DERIVE": ck.CKM_ECDH1_COFACTOR_DERIVE,
} as const;

export type CipherMechanismName = keyof typeof CIPHER_CKM;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** CK_RSA_PKCS_OAEP_PARAMS: the hash, MGF1's hash and the label (CKZ_DATA_SPECIFIED). */
export function oaepMechanism(hash: HashName, mgf: HashName, label?: Uint8Array): Mechanism {
  return {
    mechanism: ck.CKM_RSA_PKCS_OAEP,
    parameter: {
      type: ck.CK_PARAMS_RSA_OAEP,
      hashAlg: DIGEST_CKM[hash],
      mgf: MGF1_CKG[mgf],
      source: 1, // CKZ_DATA_SPECIFIED
      ...(label !== undefined && label.length > 0 ? { sourceData: asBuffer(label) } : {}),
    } as Mechanism["parameter"],
  };
}

/** CK_GCM_PARAMS (with ulIvBits, the form PKCS#11 2.40 errata and 3.0 define). */
export function gcmMechanism(
  iv: Uint8Array,
  aad: Uint8Array | undefined,
  tagBits: number,
): Mechanism {
  return {
    mechanism: ck.CKM_AES_GCM,
    parameter: {
      type: ck.CK_PARAMS_GCM,
      iv: asBuffer(iv),
      ivBits: iv.length * 8,
      ...(aad !== undefined && aad.length > 0 ? { aad: asBuffer(aad) } : {}),
      tagBits,
    } as Mechanism["parameter"],
  };
}

/**
 * CK_AES_CTR_PARAMS { CK_ULONG ulCounterBits; CK_BYTE cb[16]; } laid out by hand (pkcs11js has
 * no type for it): the whole 16-byte block counts, as `openssl enc -aes-*-ctr` does.
 */
export function ctrMechanism(iv: Uint8Array): Mechanism {
  const ulongBytes = 8;
  const parameter = Buffer.alloc(ulongBytes + 16);
  parameter.writeBigUInt64LE(128n, 0);
  parameter.set(iv, ulongBytes);
  return { mechanism: ck.CKM_AES_CTR, parameter };
}

/** A mechanism whose parameter is the IV itself (CBC), or none (ECB, RSA-PKCS, key wrap). */
export function plainMechanism(name: CipherMechanismName, iv?: Uint8Array): Mechanism {
  return iv === undefined
    ? { mechanism: CIPHER_CKM[name] }
    : { mechanism: CIPHER_CKM[name], parameter: asBuffer(iv) };
}

/** CK_ECDH1_DERIVE_PARAMS with the peer's public value (the EC point, or X25519's u). */
export function ecdhMechanism(
  name: "ECDH1-DERIVE" | "ECDH1-COFACTOR-DERIVE",
  kdf: keyof typeof KDF_CKD,
  publicData: Uint8Array,
): Mechanism {
  return {
    mechanism: CIPHER_CKM[name],
    parameter: {
      type: ck.CK_PARAMS_EC_DH,
      kdf: KDF_CKD[kdf],
      publicData: asBuffer(publicData),
    } as Mechanism["parameter"],
  };
}

/** C_GenerateRandom: `length` bytes from the token's generator. */
export function generateRandom(session: TokenSession, length: number): Buffer {
  return step("generate random bytes", () =>
    session.lib.C_GenerateRandom(session.handle, Buffer.alloc(length)),
  );
}

/** A multi-part digest: C_DigestInit, C_DigestUpdate per chunk, C_DigestFinal. */
export class DigestOperation {
  readonly #session: TokenSession;
  #active = true;

  constructor(session: TokenSession, hash: HashName) {
    this.#session = session;
    step("start digest", () => {
      session.lib.C_DigestInit(session.handle, { mechanism: DIGEST_CKM[hash] });
    });
  }

  update(chunk: Uint8Array): void {
    try {
      this.#session.lib.C_DigestUpdate(this.#session.handle, asBuffer(chunk));
    } catch (error) {
      this.#active = false;
      throw pkcs11Failure(error, "digest");
    }
  }

  final(): Buffer {
    this.#active = false;
    const { lib, handle } = this.#session;
    return step("digest", () => lib.C_DigestFinal(handle, Buffer.alloc(64)));
  }

  abort(): void {
    if (!this.#active) return;
    this.#active = false;
    try {
      this.#session.lib.C_DigestFinal(this.#session.handle, Buffer.alloc(64));
    } catch {
      // The operation is over either way.
    }
  }
}

export type Direction = "encrypt" | "decrypt";

/**
 * What a failed decryption says about its input (a wrong key, tag or padding) rather than
 * about the token: SoftHSM 2.6 answers a bad GCM tag or CBC padding with CKR_GENERAL_ERROR.
 */
const BAD_CIPHERTEXT = [
  "CKR_ENCRYPTED_DATA_INVALID",
  "CKR_ENCRYPTED_DATA_LEN_RANGE",
  "CKR_GENERAL_ERROR",
  "CKR_FUNCTION_FAILED",
  "CKR_DATA_INVALID",
  "CKR_DATA_LEN_RANGE",
  "CKR_AEAD_DECRYPT_FAILED", // PKCS#11 3.0
];

/** A decryption the token refused for its input: exit 7, as a signature that does not match. */
export function isBadCiphertext(error: unknown): boolean {
  return isCkr(error, ...BAD_CIPHERTEXT);
}

function dataFailure(error: unknown, direction: Direction): Error {
  if (direction === "decrypt" && isBadCiphertext(error)) {
    return new TspError("verify", "decrypt: wrong key, or the data is corrupt (tag or padding)", {
      ckr: ckrOf(error),
      cause: error,
    });
  }
  return pkcs11Failure(error, direction);
}

function init(
  session: TokenSession,
  direction: Direction,
  mechanism: Mechanism,
  key: Handle,
): void {
  const { lib, handle } = session;
  step(`start to ${direction}`, () => {
    if (direction === "encrypt") lib.C_EncryptInit(handle, mechanism, key);
    else lib.C_DecryptInit(handle, mechanism, key);
  });
}

/** C_EncryptInit + C_Encrypt (or the decrypt pair): one whole message, at most `maxLength` out. */
export function cryptOnce(
  session: TokenSession,
  direction: Direction,
  mechanism: Mechanism,
  key: Handle,
  data: Uint8Array,
  maxLength: number,
): Buffer {
  init(session, direction, mechanism, key);
  const { lib, handle } = session;
  try {
    const output = Buffer.alloc(maxLength);
    return direction === "encrypt"
      ? lib.C_Encrypt(handle, asBuffer(data), output)
      : lib.C_Decrypt(handle, asBuffer(data), output);
  } catch (error) {
    throw dataFailure(error, direction);
  }
}

/**
 * A multi-part encryption or decryption. `update` and `final` write into `output` (the
 * caller's, reused) and return the part of it that holds this call's result.
 */
export class CipherOperation {
  readonly #session: TokenSession;
  readonly #direction: Direction;
  #active = true;

  constructor(session: TokenSession, direction: Direction, mechanism: Mechanism, key: Handle) {
    this.#session = session;
    this.#direction = direction;
    init(session, direction, mechanism, key);
  }

  update(chunk: Uint8Array, output: Buffer): Buffer {
    const { lib, handle } = this.#session;
    try {
      return this.#direction === "encrypt"
        ? lib.C_EncryptUpdate(handle, asBuffer(chunk), output)
        : lib.C_DecryptUpdate(handle, asBuffer(chunk), output);
    } catch (error) {
      this.#active = false;
      throw dataFailure(error, this.#direction);
    }
  }

  final(output: Buffer): Buffer {
    this.#active = false;
    const { lib, handle } = this.#session;
    try {
      return this.#direction === "encrypt"
        ? lib.C_EncryptFinal(handle, output)
        : lib.C_DecryptFinal(handle, output);
    } catch (error) {
      throw dataFailure(error, this.#direction);
    }
  }

  /** Ends an unfinished operation so the session can be used again. */
  abort(): void {
    if (!this.#active) return;
    this.#active = false;
    try {
      const { lib, handle } = this.#session;
      const scratch = Buffer.alloc(64 * 1024);
      if (this.#direction === "encrypt") lib.C_EncryptFinal(handle, scratch);
      else lib.C_DecryptFinal(handle, scratch);
    } catch {
      // The operation is over either way.
    }
  }
}

/** C_WrapKey into a buffer of `maxLength` bytes. */
export function wrapKey(
  session: TokenSession,
  mechanism: Mechanism,
  wrappingKey: Handle,
  key: Handle,
  maxLength: number,
): Buffer {
  return step("wrap key", () =>
    session.lib.C_WrapKey(session.handle, mechanism, wrappingKey, key, Buffer.alloc(maxLength)),
  );
}

/** C_UnwrapKey: the new key's handle. */
export function unwrapKey(
  session: TokenSession,
  mechanism: Mechanism,
  unwrappingKey: Handle,
  wrapped: Uint8Array,
  template: Attribute[],
): Handle {
  try {
    return session.lib.C_UnwrapKey(
      session.handle,
      mechanism,
      unwrappingKey,
      asBuffer(wrapped),
      template,
    );
  } catch (error) {
    if (isCkr(error, "CKR_WRAPPED_KEY_INVALID", "CKR_WRAPPED_KEY_LEN_RANGE", "CKR_GENERAL_ERROR")) {
      throw new TspError(
        "verify",
        "unwrap key: wrong unwrapping key, or the wrapped key is corrupt",
        { ckr: ckrOf(error), cause: error },
      );
    }
    throw pkcs11Failure(error, "unwrap key");
  }
}

/** C_DeriveKey: the new key's handle. */
export function deriveKey(
  session: TokenSession,
  mechanism: Mechanism,
  baseKey: Handle,
  template: Attribute[],
): Handle {
  return step("derive key", () =>
    session.lib.C_DeriveKey(session.handle, mechanism, baseKey, template),
  );
}
