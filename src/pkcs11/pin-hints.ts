/**
 * Words a PIN failure needs beyond its CKR_ name: the lengths the token takes
 * (CKR_PIN_LEN_RANGE), read from the token itself.
 */
import { TspError } from "../errors.js";
import type { Handle, Pkcs11 } from "./lib.js";

/** "4 to 255": ulMinPinLen and ulMaxPinLen; undefined where the module does not say. */
export function pinLengthRange(min: number, max: number): string | undefined {
  const known = (value: number) => value < 0xffffffff;
  if (!known(min) && !known(max)) return undefined;
  if (!known(max)) return `at least ${min}`;
  if (!known(min)) return `at most ${max}`;
  return `${min} to ${max}`;
}

/** A CKR_PIN_LEN_RANGE error that also says the token's limits; any other error as it was. */
export function withPinLimits(error: TspError, lib: Pkcs11, slot: Handle): TspError {
  if (error.ckr !== "CKR_PIN_LEN_RANGE") return error;
  let range: string | undefined;
  try {
    const info = lib.C_GetTokenInfo(slot);
    range = pinLengthRange(info.minPinLen, info.maxPinLen);
  } catch {
    return error;
  }
  if (range === undefined) return error;
  return new TspError(error.kind, `${error.message}: it takes PINs of ${range} characters`, {
    ckr: error.ckr,
    cause: error,
  });
}
