/** PKCS#11 numbers ↔ the contract's words (object classes, key types, flags). */
import { ck, ck3 } from "./lib.js";

export type ObjectClass = "private-key" | "public-key" | "certificate" | "secret-key" | "data";

export const CLASS_VALUES: Readonly<Record<ObjectClass, number>> = {
  "private-key": ck.CKO_PRIVATE_KEY,
  "public-key": ck.CKO_PUBLIC_KEY,
  certificate: ck.CKO_CERTIFICATE,
  "secret-key": ck.CKO_SECRET_KEY,
  data: ck.CKO_DATA,
};

/** URI `type=` of each class. */
export const URI_TYPES = {
  "private-key": "private",
  "public-key": "public",
  certificate: "cert",
  "secret-key": "secret-key",
  data: "data",
} as const;

/** Key types we name; others print as the CKK_ name derived the same way, or 0x hex. */
const KEY_TYPE_VALUES: Readonly<Record<string, number>> = {
  rsa: ck.CKK_RSA,
  ec: ck.CKK_EC,
  "ec-edwards": ck3.CKK_EC_EDWARDS,
  "ec-montgomery": ck3.CKK_EC_MONTGOMERY,
  aes: ck.CKK_AES,
  "generic-secret": ck.CKK_GENERIC_SECRET,
  des3: ck.CKK_DES3,
  des: ck.CKK_DES,
  dsa: ck.CKK_DSA,
  dh: ck.CKK_DH,
};

const KEY_TYPE_NAMES = new Map(
  Object.entries(KEY_TYPE_VALUES).map(([name, value]) => [value, name]),
);

export function keyTypeName(value: number): string {
  return KEY_TYPE_NAMES.get(value) ?? `0x${value.toString(16)}`;
}

export function keyTypeValue(name: string): number | undefined {
  return KEY_TYPE_VALUES[name];
}

/** Token flags by name; token, slot and mechanism flags reuse bits, so each has its list. */
const TOKEN_FLAGS = [
  "CKF_RNG",
  "CKF_WRITE_PROTECTED",
  "CKF_LOGIN_REQUIRED",
  "CKF_USER_PIN_INITIALIZED",
  "CKF_RESTORE_KEY_NOT_NEEDED",
  "CKF_CLOCK_ON_TOKEN",
  "CKF_PROTECTED_AUTHENTICATION_PATH",
  "CKF_DUAL_CRYPTO_OPERATIONS",
  "CKF_TOKEN_INITIALIZED",
  "CKF_SECONDARY_AUTHENTICATION",
  "CKF_USER_PIN_COUNT_LOW",
  "CKF_USER_PIN_FINAL_TRY",
  "CKF_USER_PIN_LOCKED",
  "CKF_USER_PIN_TO_BE_CHANGED",
  "CKF_SO_PIN_COUNT_LOW",
  "CKF_SO_PIN_FINAL_TRY",
  "CKF_SO_PIN_LOCKED",
  "CKF_SO_PIN_TO_BE_CHANGED",
  "CKF_ERROR_STATE",
] as const;

const MECHANISM_FLAGS = [
  "CKF_HW",
  "CKF_ENCRYPT",
  "CKF_DECRYPT",
  "CKF_DIGEST",
  "CKF_SIGN",
  "CKF_SIGN_RECOVER",
  "CKF_VERIFY",
  "CKF_VERIFY_RECOVER",
  "CKF_GENERATE",
  "CKF_GENERATE_KEY_PAIR",
  "CKF_WRAP",
  "CKF_UNWRAP",
  "CKF_DERIVE",
  "CKF_EC_F_P",
  "CKF_EC_F_2M",
  "CKF_EC_ECPARAMETERS",
  "CKF_EC_NAMEDCURVE",
  "CKF_EC_UNCOMPRESS",
  "CKF_EC_COMPRESS",
] as const;

function flagNames(names: readonly string[], flags: number): string[] {
  return names.filter((name) => {
    const bit = (ck as unknown as Record<string, number>)[name] ?? 0;
    return bit !== 0 && (flags & bit) === bit;
  });
}

export const tokenFlagNames = (flags: number): string[] => flagNames(TOKEN_FLAGS, flags);
export const mechanismFlagNames = (flags: number): string[] => flagNames(MECHANISM_FLAGS, flags);

/** Trims the blank (and, from buggy writers, NUL) padding of fixed-width PKCS#11 strings. */
export function trimPadded(text: string): string {
  return text.replace(/[\s\0]+$/u, "").replace(/^\s+/u, "");
}
