/**
 * `tsp11 decrypt`: the plan of `encrypt` run backwards on the token. A wrong key, tag or
 * padding is a verification failure (exit 7); RSA-OAEP parameters the module refuses are a
 * usage error that says which ones it took.
 */
import { TspError, usageError } from "../errors.js";
import { cryptOnce } from "../pkcs11/cipher.js";
import { isCkr } from "../pkcs11/ckr.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { CipherPlan } from "./encrypt.js";
import type { KeySelector, TokenKey } from "./find-key.js";
import { findKey } from "./find-key.js";

export { aesStream, collectBlock, planCipher } from "./encrypt.js";

/** The key that decrypts: a secret key of that name, else the private key. */
export function findDecryptionKey(session: TokenSession, selector: KeySelector): TokenKey {
  try {
    return findKey(session, "secret-key", selector);
  } catch (error) {
    if (!(error instanceof TspError) || error.kind !== "not-found") throw error;
  }
  return findKey(session, "private-key", selector);
}

/** RSA decryption of one block (the modulus' length) with the private key on the token. */
export function rsaDecrypt(
  session: TokenSession,
  key: TokenKey,
  plan: CipherPlan,
  data: Buffer,
): Buffer {
  if (plan.modulusBytes !== undefined && data.length !== plan.modulusBytes) {
    throw new TspError(
      "verify",
      `decrypt: ${plan.name} with this key takes ${plan.modulusBytes} bytes; the input has ${data.length}`,
    );
  }
  try {
    return cryptOnce(session, "decrypt", plan.mechanism, key.handle, data, data.length);
  } catch (error) {
    if (plan.oaep && isCkr(error, "CKR_ARGUMENTS_BAD", "CKR_MECHANISM_PARAM_INVALID")) {
      const { hash, mgf, label } = plan.oaep;
      throw usageError(
        `decrypt: the token refused RSA-PKCS-OAEP with hash ${hash}, MGF1-${mgf.toUpperCase()}${label ? " and a label" : ""} (some modules, SoftHSM 2.6 among them, take only --hash sha1 without --oaep-label)`,
      );
    }
    if (isCkr(error, "CKR_KEY_FUNCTION_NOT_PERMITTED")) {
      throw usageError(`decrypt: the key does not allow decryption (CKA_DECRYPT is false)`);
    }
    throw error;
  }
}
