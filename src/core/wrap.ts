/**
 * `tsp11 wrap`: a key exported from the token encrypted under a wrapping key (C_WrapKey), so
 * it is never in clear on the host. Refusals name the attribute that forbids the export.
 */
import { TspError, usageError } from "../errors.js";
import type { CipherMechanismName } from "../pkcs11/cipher.js";
import { CIPHER_CKM, oaepMechanism, plainMechanism, wrapKey } from "../pkcs11/cipher.js";
import type { HashName } from "../pkcs11/cipher.js";
import { ck } from "../pkcs11/lib.js";
import type { Mechanism } from "../pkcs11/lib.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { KeySelector, TokenKey } from "./find-key.js";
import { findKey } from "./find-key.js";

export const WRAP_NAMES = [
  "AES-KEY-WRAP",
  "AES-KEY-WRAP-PAD",
  "RSA-PKCS-OAEP",
  "AES-CBC-PAD",
  "RSA-PKCS",
] as const;
export type WrapName = (typeof WRAP_NAMES)[number];

export function parseWrapName(text: string): WrapName {
  const normalized = text
    .trim()
    .toUpperCase()
    .replace(/^CKM[-_]/, "")
    .replaceAll("_", "-");
  const found = WRAP_NAMES.find((name) => name === normalized);
  if (!found) {
    throw usageError(`unknown wrap mechanism "${text}": accepted: ${WRAP_NAMES.join(", ")}`);
  }
  return found;
}

export interface WrapRequest {
  mechanism?: WrapName | undefined;
  /** RSA-PKCS-OAEP's hash (default sha256; SoftHSM 2.6 takes only sha1). */
  hash?: HashName | undefined;
  /** AES-CBC-PAD's IV (default zero bytes). */
  iv?: Uint8Array | undefined;
}

export interface WrapJson {
  mechanism: WrapName;
  wrappingKeyId: string;
  wrappingKeyLabel: string;
  keyId: string;
  keyLabel: string;
  keyClass: string;
  keyType: string;
  wrappedBase64: string;
  output?: string;
}

function keyName(key: TokenKey): string {
  return key.label !== "" ? `"${key.label}"` : `with id ${Buffer.from(key.id).toString("hex")}`;
}

/** The first key of these classes the selector names. */
export function findAnyKey(
  session: TokenSession,
  selector: KeySelector,
  classes: readonly ("secret-key" | "private-key" | "public-key")[],
): TokenKey {
  let notFound: unknown;
  for (const cls of classes) {
    try {
      return findKey(session, cls, selector);
    } catch (error) {
      if (!(error instanceof TspError) || error.kind !== "not-found") throw error;
      notFound ??= error;
    }
  }
  throw notFound;
}

/** The mechanisms of our table the token offers for wrapping (CKF_WRAP). */
export function offeredWrapping(session: TokenSession): WrapName[] {
  return WRAP_NAMES.filter((name) => {
    const ckm = CIPHER_CKM[name as CipherMechanismName];
    if (!session.hasMechanism(ckm)) return false;
    return (session.mechanismInfo(ckm).flags & ck.CKF_WRAP) !== 0;
  });
}

export function wrapMechanism(name: WrapName, request: WrapRequest): Mechanism {
  if (name === "RSA-PKCS-OAEP") {
    const hash = request.hash ?? "sha256";
    return oaepMechanism(hash, hash);
  }
  if (name === "AES-CBC-PAD") return plainMechanism(name, request.iv ?? new Uint8Array(16));
  return plainMechanism(name);
}

/** Checks the mechanism against the token's list (exit 2 naming what it offers). */
export function checkWrapMechanism(
  session: TokenSession,
  name: WrapName,
  flag: "wrap" | "unwrap",
): void {
  const ckm = CIPHER_CKM[name as CipherMechanismName];
  const wanted = flag === "wrap" ? ck.CKF_WRAP : ck.CKF_UNWRAP;
  if (session.hasMechanism(ckm) && (session.mechanismInfo(ckm).flags & wanted) !== 0) return;
  throw new TspError(
    "usage",
    `the token does not offer ${name} for ${flag}ping; it offers: ${offeredWrapping(session).join(", ") || "nothing"}`,
    { ckr: "CKR_MECHANISM_INVALID" },
  );
}

export function defaultWrapName(wrappingKey: TokenKey): WrapName {
  return wrappingKey.keyType === "rsa" ? "RSA-PKCS-OAEP" : "AES-KEY-WRAP-PAD";
}

export function runWrap(
  session: TokenSession,
  wrappingSelector: KeySelector,
  keySelector: KeySelector,
  request: WrapRequest,
): { wrapped: Buffer; json: Omit<WrapJson, "output"> } {
  const wrapping = findAnyKey(session, wrappingSelector, ["secret-key", "public-key"]);
  const key = findAnyKey(session, keySelector, ["secret-key", "private-key"]);
  const name = request.mechanism ?? defaultWrapName(wrapping);
  if (name.startsWith("RSA") !== (wrapping.keyType === "rsa")) {
    throw usageError(
      `${name} needs ${name.startsWith("RSA") ? "an RSA public" : "an AES"} wrapping key; key ${keyName(wrapping)} is ${wrapping.keyType}`,
    );
  }
  const { wrap } = session.read(wrapping.handle, ["wrap"]);
  if (wrap !== true) {
    throw usageError(
      `wrap: the wrapping key ${keyName(wrapping)} has CKA_WRAP false (make it with --usage wrap)`,
    );
  }
  const { extractable } = session.read(key.handle, ["extractable"]);
  if (extractable !== true) {
    throw usageError(
      `wrap: the key ${keyName(key)} has CKA_EXTRACTABLE false: it cannot leave the token`,
    );
  }
  checkWrapMechanism(session, name, "wrap");
  const wrapped = wrapKey(
    session,
    wrapMechanism(name, request),
    wrapping.handle,
    key.handle,
    16384,
  );
  return {
    wrapped,
    json: {
      mechanism: name,
      wrappingKeyId: Buffer.from(wrapping.id).toString("hex"),
      wrappingKeyLabel: wrapping.label,
      keyId: Buffer.from(key.id).toString("hex"),
      keyLabel: key.label,
      keyClass: key.cls,
      keyType: key.keyType,
      wrappedBase64: wrapped.toString("base64"),
    },
  };
}
