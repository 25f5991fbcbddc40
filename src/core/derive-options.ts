/**
 * derive's option words (mechanisms, KDFs, the derived key's type), apart from the core so
 * that defining the command does not load the ASN.1 stack.
 */
import { usageError } from "../errors.js";
import type { KeySpec } from "../options.js";
import type { HashName } from "../pkcs11/cipher.js";

export const DERIVE_NAMES = ["ECDH1-DERIVE", "ECDH1-COFACTOR-DERIVE"] as const;
export type DeriveName = (typeof DERIVE_NAMES)[number];
export const KDF_NAMES = ["null", "sha1", "sha256", "sha384", "sha512"] as const;
export type KdfName = "null" | HashName;

export function parseDeriveName(text: string): DeriveName {
  const normalized = text.trim().toUpperCase().replace(/^CKM_/, "").replaceAll("_", "-");
  const found = DERIVE_NAMES.find((name) => name === normalized);
  if (!found) {
    throw usageError(`invalid mechanism "${text}": accepted: ${DERIVE_NAMES.join(", ")}`);
  }
  return found;
}

export function parseKdf(text: string): KdfName {
  const normalized = text.trim().toLowerCase().replace(/^ckd_/, "").replace(/_kdf$/, "");
  const found = KDF_NAMES.find((name) => name === normalized);
  if (!found) throw usageError(`invalid --kdf "${text}": accepted: ${KDF_NAMES.join(", ")}`);
  return found;
}

/** The derived key's type: an AES or generic-secret key of a length in bits. */
export type DerivedKeySpec = Extract<KeySpec, { keyType: "aes" | "generic-secret" }>;

export function checkDerivedSpec(spec: KeySpec): DerivedKeySpec {
  if (spec.keyType === "aes" || spec.keyType === "generic-secret") return spec;
  throw usageError("derive: --key-type must be aes:<bits> or generic:<bits>");
}
