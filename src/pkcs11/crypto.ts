/**
 * Signing and verifying on the token: the raw C_Sign / C_Verify calls, single and
 * multi-part, and the CKM numbers of the signature mechanisms tsp11 names. The CLI uses the
 * synchronous pkcs11js calls (the async ones cost a worker round trip per call); a session
 * opened async (serve) runs the one-shot C_Sign on the thread pool.
 *
 * Multi-part signing never asks C_SignFinal for the length first (some modules end the
 * operation on a NULL-buffer call and then sign the empty input): the caller passes a buffer
 * large enough for the key's signature and pkcs11js returns the slice.
 */
import { isCkr, pkcs11Failure, step } from "./ckr.js";
import type { Handle, Mechanism } from "./lib.js";
import { ck, ck3 } from "./lib.js";
import type { MaybePromise, TokenSession } from "./session.js";

export type DigestName = "sha256" | "sha384" | "sha512";

/** CKM values by pkcs11-tool's mechanism names (PKCS#11 3.0 ones from ck3). */
export const SIGN_CKM: Readonly<Record<string, number>> = {
  "RSA-PKCS": ck.CKM_RSA_PKCS,
  "SHA256-RSA-PKCS": ck.CKM_SHA256_RSA_PKCS,
  "SHA384-RSA-PKCS": ck.CKM_SHA384_RSA_PKCS,
  "SHA512-RSA-PKCS": ck.CKM_SHA512_RSA_PKCS,
  "RSA-PKCS-PSS": ck.CKM_RSA_PKCS_PSS,
  "SHA256-RSA-PKCS-PSS": ck.CKM_SHA256_RSA_PKCS_PSS,
  "SHA384-RSA-PKCS-PSS": ck.CKM_SHA384_RSA_PKCS_PSS,
  "SHA512-RSA-PKCS-PSS": ck.CKM_SHA512_RSA_PKCS_PSS,
  ECDSA: ck.CKM_ECDSA,
  "ECDSA-SHA256": ck.CKM_ECDSA_SHA256,
  "ECDSA-SHA384": ck.CKM_ECDSA_SHA384,
  "ECDSA-SHA512": ck.CKM_ECDSA_SHA512,
  EDDSA: ck3.CKM_EDDSA,
  "SHA256-HMAC": ck.CKM_SHA256_HMAC,
  "SHA384-HMAC": ck.CKM_SHA384_HMAC,
  "SHA512-HMAC": ck.CKM_SHA512_HMAC,
};

const HASH_CKM: Readonly<Record<DigestName, number>> = {
  sha256: ck.CKM_SHA256,
  sha384: ck.CKM_SHA384,
  sha512: ck.CKM_SHA512,
};

const MGF_CKG: Readonly<Record<DigestName, number>> = {
  sha256: ck.CKG_MGF1_SHA256,
  sha384: ck.CKG_MGF1_SHA384,
  sha512: ck.CKG_MGF1_SHA512,
};

/** The CK_MECHANISM for a name, with CK_RSA_PKCS_PSS_PARAMS for the PSS ones. */
export function signMechanism(
  name: string,
  pss?: { hash: DigestName; mgf: DigestName; saltLen: number },
): Mechanism {
  const mechanism = SIGN_CKM[name];
  if (mechanism === undefined) throw new Error(`no CKM value for ${name}`);
  if (!pss) return { mechanism };
  const parameter = {
    type: ck.CK_PARAMS_RSA_PSS,
    hashAlg: HASH_CKM[pss.hash],
    mgf: MGF_CKG[pss.mgf],
    saltLen: pss.saltLen,
  };
  // CK_RSA_PKCS_PSS_PARAMS (pkcs11js RsaPSS); the Mechanism type only knows IParams.
  return { mechanism, parameter };
}

/**
 * RSA private-key operations take milliseconds, worth a thread-pool trip in a server; ECDSA
 * and EdDSA signatures take less than the trip itself (measured on SoftHSM: ~0.05 ms against
 * ~0.2 ms), so they stay on the calling thread.
 */
const SLOW_SIGN: ReadonlySet<number> = new Set(
  Object.entries(SIGN_CKM)
    .filter(([name]) => name.includes("RSA"))
    .map(([, value]) => value),
);

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * C_SignInit + C_Sign: one signature over `data`, at most `maxLength` bytes long. In an async
 * session (serve) the C_Sign runs on the thread pool and this returns its promise.
 */
export function signOnce(
  session: TokenSession,
  mechanism: Mechanism,
  key: Handle,
  data: Uint8Array,
  maxLength: number,
): MaybePromise<Buffer> {
  const { lib, handle } = session;
  step("start signing", () => {
    lib.C_SignInit(handle, mechanism, key);
  });
  session.authenticateKeyUse(key, "sign: log in for the key");
  const slow = SLOW_SIGN.has(mechanism.mechanism);
  return session.sign(asBuffer(data), Buffer.allocUnsafe(maxLength), "sign", slow);
}

/** A multi-part signature: C_SignInit, C_SignUpdate per chunk, one C_SignFinal. */
export class SignOperation {
  readonly #session: TokenSession;
  readonly #maxLength: number;
  #active = true;

  constructor(session: TokenSession, mechanism: Mechanism, key: Handle, maxLength: number) {
    this.#session = session;
    this.#maxLength = maxLength;
    step("start signing", () => {
      session.lib.C_SignInit(session.handle, mechanism, key);
    });
    session.authenticateKeyUse(key, "sign: log in for the key");
  }

  update(chunk: Uint8Array): void {
    try {
      this.#session.lib.C_SignUpdate(this.#session.handle, asBuffer(chunk));
    } catch (error) {
      // A failed C_SignUpdate ends the operation (PKCS#11 2.40 section 5.12).
      this.#active = false;
      throw pkcs11Failure(error, "sign");
    }
  }

  final(): Buffer {
    this.#active = false;
    const { lib, handle } = this.#session;
    return step("sign", () => lib.C_SignFinal(handle, Buffer.allocUnsafe(this.#maxLength)));
  }

  /** Ends an unfinished operation (input failed half-way), so the session can sign again. */
  abort(): void {
    if (!this.#active) return;
    this.#active = false;
    try {
      this.#session.lib.C_SignFinal(this.#session.handle, Buffer.allocUnsafe(this.#maxLength));
    } catch {
      // The operation is over either way.
    }
  }
}

const BAD_SIGNATURE = ["CKR_SIGNATURE_INVALID", "CKR_SIGNATURE_LEN_RANGE"];

/** C_VerifyInit + C_Verify: true when the signature matches, false when the token says it does not. */
export function verifyOnce(
  session: TokenSession,
  mechanism: Mechanism,
  key: Handle,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const { lib, handle } = session;
  step("start verifying", () => {
    lib.C_VerifyInit(handle, mechanism, key);
  });
  try {
    return lib.C_Verify(handle, asBuffer(data), asBuffer(signature));
  } catch (error) {
    if (isCkr(error, ...BAD_SIGNATURE)) return false;
    throw pkcs11Failure(error, "verify");
  }
}

/** A multi-part verification: C_VerifyInit, C_VerifyUpdate per chunk, one C_VerifyFinal. */
export class VerifyOperation {
  readonly #session: TokenSession;
  #active = true;

  constructor(session: TokenSession, mechanism: Mechanism, key: Handle) {
    this.#session = session;
    step("start verifying", () => {
      session.lib.C_VerifyInit(session.handle, mechanism, key);
    });
  }

  update(chunk: Uint8Array): void {
    try {
      this.#session.lib.C_VerifyUpdate(this.#session.handle, asBuffer(chunk));
    } catch (error) {
      this.#active = false;
      throw pkcs11Failure(error, "verify");
    }
  }

  final(signature: Uint8Array): boolean {
    this.#active = false;
    try {
      return this.#session.lib.C_VerifyFinal(this.#session.handle, asBuffer(signature));
    } catch (error) {
      if (isCkr(error, ...BAD_SIGNATURE)) return false;
      throw pkcs11Failure(error, "verify");
    }
  }

  abort(): void {
    if (!this.#active) return;
    this.#active = false;
    try {
      this.#session.lib.C_VerifyFinal(this.#session.handle, Buffer.alloc(0));
    } catch {
      // The operation is over either way.
    }
  }
}
