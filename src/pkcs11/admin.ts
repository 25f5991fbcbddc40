/** Token administration calls: initializing tokens and setting PINs. PINs are revealed only here. */
import type { Pin } from "../pin.js";
import { isCkr, pkcs11Failure } from "./ckr.js";
import type { Handle } from "./lib.js";
import type { Pkcs11Module } from "./module.js";
import { withPinLimits } from "./pin-hints.js";
import type { TokenSession } from "./session.js";

/** C_InitToken with a label already padded to 32 bytes. A wrong SO PIN is exit 4. */
export function initToken(
  module: Pkcs11Module,
  slot: Handle,
  soPin: Pin,
  paddedLabel: string,
  what: string,
): void {
  try {
    module.lib.C_InitToken(slot, soPin.reveal(), paddedLabel);
  } catch (error) {
    throw withPinLimits(pkcs11Failure(error, what, pinErrorKind(error)), module.lib, slot);
  }
}

/** C_InitPIN: the SO (logged in on `session`) sets the user PIN. */
export function initUserPin(session: TokenSession, pin: Pin, what: string): void {
  try {
    session.lib.C_InitPIN(session.handle, pin.reveal());
  } catch (error) {
    throw withPinLimits(pkcs11Failure(error, what, pinErrorKind(error)), session.lib, session.slot);
  }
}

/** C_SetPIN: the logged-in user (or SO) changes their own PIN. */
export function setPin(session: TokenSession, oldPin: Pin, newPin: Pin, what: string): void {
  try {
    session.lib.C_SetPIN(session.handle, oldPin.reveal(), newPin.reveal());
  } catch (error) {
    throw withPinLimits(pkcs11Failure(error, what, pinErrorKind(error)), session.lib, session.slot);
  }
}

/** A wrong or locked PIN is auth (4); a new PIN the token will not take is usage (2). */
function pinErrorKind(error: unknown): "auth" | "usage" | undefined {
  if (isCkr(error, "CKR_PIN_INCORRECT", "CKR_PIN_LOCKED", "CKR_PIN_EXPIRED")) return "auth";
  if (isCkr(error, "CKR_PIN_LEN_RANGE", "CKR_PIN_INVALID")) return "usage";
  return undefined;
}
