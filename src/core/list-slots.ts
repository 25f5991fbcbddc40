import type { Pkcs11Module } from "../pkcs11/module.js";
import { tokenFlagNames } from "../pkcs11/names.js";
import type { SlotEntry } from "../pkcs11/select.js";
import { listSlots } from "../pkcs11/select.js";

/** The contract's list-slots JSON item. */
export interface SlotJson {
  slot: number;
  description: string;
  manufacturer: string;
  tokenPresent: boolean;
  token: null | {
    label: string;
    manufacturer: string;
    model: string;
    serial: string;
    initialized: boolean;
    userPinInitialized: boolean;
    loginRequired: boolean;
    flags: string[];
    /** The PIN lengths the token takes (ulMinPinLen, ulMaxPinLen); null: not said. */
    minPinLength: number | null;
    maxPinLength: number | null;
    uri: string;
  };
}

export function slotJson(entry: SlotEntry): SlotJson {
  const token = entry.token;
  return {
    slot: entry.id,
    description: entry.description,
    manufacturer: entry.manufacturer,
    tokenPresent: entry.tokenPresent,
    token: token
      ? {
          label: token.label,
          manufacturer: token.manufacturer,
          model: token.model,
          serial: token.serial,
          initialized: token.initialized,
          userPinInitialized: token.userPinInitialized,
          loginRequired: token.loginRequired,
          flags: tokenFlagNames(token.flags),
          minPinLength: token.minPinLength,
          maxPinLength: token.maxPinLength,
          uri: token.uri,
        }
      : null,
  };
}

export function runListSlots(module: Pkcs11Module, all: boolean): SlotJson[] {
  return listSlots(module, all).map(slotJson);
}
