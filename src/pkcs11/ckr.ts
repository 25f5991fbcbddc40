import type { ErrorKind } from "../errors.js";
import { TspError } from "../errors.js";
import { ck } from "./lib.js";

/**
 * One table from CKR codes to the contract's error kinds, with the words users see.
 * Anything not listed is a plain failure (exit 1).
 */
const CKR_TABLE: Readonly<Record<string, readonly [ErrorKind, string]>> = {
  CKR_PIN_INCORRECT: ["auth", "incorrect PIN"],
  CKR_PIN_LOCKED: ["auth", "the PIN is locked"],
  CKR_PIN_EXPIRED: ["auth", "the PIN has expired"],
  CKR_PIN_INVALID: ["usage", "the PIN has invalid characters"],
  CKR_PIN_LEN_RANGE: ["usage", "the PIN is too short or too long for this token"],
  CKR_USER_NOT_LOGGED_IN: ["auth", "not logged in (give a PIN)"],
  CKR_USER_PIN_NOT_INITIALIZED: [
    "auth",
    "the user PIN is not initialized (set one: tsp11 change-pin --reset --so-pin ...)",
  ],
  CKR_USER_TYPE_INVALID: ["usage", "invalid user type"],
  CKR_SLOT_ID_INVALID: ["not-found", "no such slot"],
  CKR_TOKEN_NOT_PRESENT: ["not-found", "no token in the slot"],
  CKR_TOKEN_NOT_RECOGNIZED: ["not-found", "the module does not recognize the token"],
  CKR_OBJECT_HANDLE_INVALID: ["not-found", "no such object"],
  CKR_KEY_HANDLE_INVALID: ["not-found", "no such key"],
  CKR_MECHANISM_INVALID: ["usage", "the token does not offer this mechanism"],
  CKR_MECHANISM_PARAM_INVALID: ["usage", "invalid mechanism parameters"],
  CKR_KEY_TYPE_INCONSISTENT: ["usage", "the key type does not fit the mechanism"],
  CKR_KEY_FUNCTION_NOT_PERMITTED: ["usage", "the key's attributes do not permit this operation"],
  CKR_KEY_SIZE_RANGE: ["usage", "key size out of the token's range"],
  CKR_ATTRIBUTE_VALUE_INVALID: ["usage", "the token refused an attribute value"],
  CKR_TEMPLATE_INCONSISTENT: ["usage", "the token refused the attribute template"],
  CKR_TEMPLATE_INCOMPLETE: ["usage", "the attribute template is incomplete"],
  CKR_DATA_LEN_RANGE: ["usage", "input length out of range for this mechanism"],
  CKR_DATA_INVALID: ["usage", "invalid input data for this mechanism"],
  CKR_SIGNATURE_INVALID: ["verify", "the signature does not match"],
  CKR_SIGNATURE_LEN_RANGE: ["verify", "the signature has the wrong length"],
  CKR_SESSION_READ_ONLY: ["auth", "the session is read-only (log in to write)"],
  CKR_CANT_LOCK: ["module", "the module cannot use OS locking"],
  CKR_CRYPTOKI_NOT_INITIALIZED: ["module", "the module is not initialized"],
  CKR_DEVICE_ERROR: ["failure", "the token is unreachable or failed"],
  CKR_DEVICE_REMOVED: ["failure", "the token was removed"],
  CKR_GENERAL_ERROR: ["failure", "the module reported a general error"],
  CKR_FUNCTION_FAILED: ["failure", "the module failed the operation"],
  CKR_FUNCTION_NOT_SUPPORTED: ["failure", "the module does not support this function"],
  CKR_ARGUMENTS_BAD: ["usage", "the module refused the arguments"],
  CKR_SESSION_READ_ONLY_EXISTS: ["failure", "another read-only session is open"],
  CKR_ACTION_PROHIBITED: [
    "failure",
    "the token does not allow this on the object (its CKA_DESTROYABLE, CKA_MODIFIABLE or CKA_COPYABLE is false)",
  ],
  CKR_CURVE_NOT_SUPPORTED: ["usage", "the token does not support this curve"],
  CKR_PIN_TOO_WEAK: ["usage", "the token finds the new PIN too weak"],
  CKR_PUBLIC_KEY_INVALID: ["usage", "the token refused the public key"],
  CKR_FUNCTION_REJECTED: ["failure", "the token rejected the operation"],
  CKR_TOKEN_RESOURCE_EXCEEDED: ["failure", "the token is out of resources"],
};

/**
 * PKCS#11 2.40 and 3.0 return values pkcs11js 2.1.7 has no constant for: its native layer
 * calls them all CKR_VENDOR_DEFINED (with the code beside the name).
 */
const NAMES_PKCS11JS_LACKS: Readonly<Record<number, string>> = {
  0x1b: "CKR_ACTION_PROHIBITED",
  0x35: "CKR_AEAD_DECRYPT_FAILED",
  0x140: "CKR_CURVE_NOT_SUPPORTED",
  0x1c0: "CKR_EXCEEDED_MAX_ITERATIONS",
  0x1c1: "CKR_FIPS_SELF_TEST_FAILED",
  0x1c2: "CKR_LIBRARY_LOAD_FAILED",
  0x1c3: "CKR_PIN_TOO_WEAK",
  0x1c4: "CKR_PUBLIC_KEY_INVALID",
  0x200: "CKR_FUNCTION_REJECTED",
  0x201: "CKR_TOKEN_RESOURCE_EXCEEDED",
  0x202: "CKR_OPERATION_CANCEL_FAILED",
};

const VENDOR_DEFINED = 0x80000000;

let namesByCode: Map<number, string> | undefined;

/** CKR_ name of a numeric return value (unknown codes as 0x hex). */
export function ckrName(code: number): string {
  namesByCode ??= new Map([
    ...Object.entries(NAMES_PKCS11JS_LACKS).map(([value, name]) => [Number(value), name] as const),
    ...Object.entries(ck)
      .filter(([name, value]) => name.startsWith("CKR_") && typeof value === "number")
      .map(([name, value]) => [value as number, name] as const),
  ]);
  return namesByCode.get(code) ?? `CKR_0x${code.toString(16).padStart(8, "0")}`;
}

/** pkcs11js's name for a code, or ours where it has none (it says CKR_VENDOR_DEFINED). */
function nameOfReported(reported: string, code: number): string {
  return reported === "CKR_VENDOR_DEFINED" && code < VENDOR_DEFINED ? ckrName(code) : reported;
}

/** How the addon reports a failed call: an Error whose message is `CKR_NAME:code`. */
const REPORTED_CKR = /^(CKR_[^:\s]+):(\d+)$/;

/**
 * The CKR_ name a pkcs11js call failed with (also once `step` made it a TspError), or
 * undefined for any other error.
 */
export function ckrOf(error: unknown): string | undefined {
  if (error instanceof TspError) return error.ckr;
  if (!(error instanceof Error) || error instanceof TypeError) return undefined;
  const reported = REPORTED_CKR.exec(error.message);
  return reported ? nameOfReported(reported[1] ?? "", Number(reported[2])) : undefined;
}

export function isCkr(error: unknown, ...names: string[]): boolean {
  const name = ckrOf(error);
  return name !== undefined && names.includes(name);
}

export function kindOfCkr(name: string): ErrorKind {
  return CKR_TABLE[name]?.[0] ?? "failure";
}

export function describeCkr(name: string): string {
  return CKR_TABLE[name]?.[1] ?? "the module reported an error";
}

/**
 * Turns a failed pkcs11js call into the project's error: `<what>: <why>` with the CKR_
 * name attached. Errors that are already TspErrors pass through untouched.
 */
export function pkcs11Failure(error: unknown, what: string, kind?: ErrorKind): TspError {
  if (error instanceof TspError) return error;
  const name = ckrOf(error);
  if (name === undefined) {
    const why = error instanceof Error ? error.message : String(error);
    return new TspError(kind ?? "failure", `${what}: ${why}`, { cause: error });
  }
  return new TspError(kind ?? kindOfCkr(name), `${what}: ${describeCkr(name)}`, {
    ckr: name,
    cause: error,
  });
}

/** Runs one PKCS#11 step, naming it in the error when it fails. */
export function step<T>(what: string, fn: () => T, kind?: ErrorKind): T {
  try {
    return fn();
  } catch (error) {
    throw pkcs11Failure(error, what, kind);
  }
}
