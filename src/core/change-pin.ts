/**
 * change-pin: the user (or with --so the security officer) changes their own PIN with
 * C_SetPIN; with --reset the SO sets a new user PIN with C_InitPIN (a forgotten or locked PIN).
 */
import type { Pin } from "../pin.js";
import { initUserPin, setPin } from "../pkcs11/admin.js";
import type { TokenScope } from "../pkcs11/token.js";

export type PinAction = "change-user" | "change-so" | "reset-user";

export interface ChangePinResult {
  label: string;
  pin: "user" | "so";
  action: "changed" | "reset";
  uri: string;
}

/** The scope is logged in already: as the user for change-user, as SO otherwise. */
export function runChangePin(
  scope: TokenScope,
  action: PinAction,
  oldPin: Pin | undefined,
  newPin: Pin,
): ChangePinResult {
  const token = `token "${scope.token.label}"`;
  if (action === "reset-user") {
    initUserPin(scope.session, newPin, `set the user PIN of ${token}`);
  } else {
    if (!oldPin) throw new Error("change-pin: the current PIN is needed");
    setPin(
      scope.session,
      oldPin,
      newPin,
      `change the ${action === "change-so" ? "SO" : "user"} PIN of ${token}`,
    );
  }
  return {
    label: scope.token.label,
    pin: action === "change-so" ? "so" : "user",
    action: action === "reset-user" ? "reset" : "changed",
    uri: scope.token.uri,
  };
}
