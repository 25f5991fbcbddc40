/**
 * Slots and token selection. Slot ids are never cached across C_InitToken: SoftHSM gives a
 * token a new id (from its serial) once initialized, so tokens are found anew each time.
 */
import { TspError } from "../errors.js";
import { ckrOf, describeCkr, pkcs11Failure } from "./ckr.js";
import type { Handle, SlotInfo, TokenInfo } from "./lib.js";
import { ck, ck3, slotIdOf } from "./lib.js";
import type { Pkcs11Module } from "./module.js";
import { trimPadded } from "./names.js";
import type { Pkcs11Uri } from "./uri.js";
import { formatPkcs11Uri, libraryMismatch, namesToken, tokenMatches } from "./uri.js";

export interface TokenDescription {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  flags: number;
  initialized: boolean;
  userPinInitialized: boolean;
  loginRequired: boolean;
  /** ulMinPinLen / ulMaxPinLen; null where the module says CK_UNAVAILABLE_INFORMATION. */
  minPinLength: number | null;
  maxPinLength: number | null;
  uri: string;
}

/** A CK_ULONG count, or null for CK_UNAVAILABLE_INFORMATION (~0, on 32 or 64 bits). */
function countOrNull(value: number): number | null {
  return value < 0xffffffff ? value : null;
}

export interface SlotEntry {
  handle: Handle;
  id: number;
  description: string;
  manufacturer: string;
  tokenPresent: boolean;
  token: TokenDescription | undefined;
  /** CKR_ name when the slot has a token the module cannot read (OpenSC: not recognized). */
  tokenError: string | undefined;
}

export interface TokenSelector {
  slot?: number | undefined;
  label?: string | undefined;
  serial?: string | undefined;
  /** --slot-index: the n-th slot of the module's whole slot list (0-based, as pkcs11-tool). */
  slotIndex?: number | undefined;
  uri?: Pkcs11Uri | undefined;
}

export function describeToken(info: TokenInfo): TokenDescription {
  const token = {
    label: trimPadded(info.label),
    manufacturer: trimPadded(info.manufacturerID),
    model: trimPadded(info.model),
    serial: trimPadded(info.serialNumber),
  };
  return {
    ...token,
    flags: info.flags,
    initialized: (info.flags & ck.CKF_TOKEN_INITIALIZED) !== 0,
    userPinInitialized: (info.flags & ck.CKF_USER_PIN_INITIALIZED) !== 0,
    loginRequired: (info.flags & ck.CKF_LOGIN_REQUIRED) !== 0,
    minPinLength: countOrNull(info.minPinLen),
    maxPinLength: countOrNull(info.maxPinLen),
    uri: formatPkcs11Uri(token),
  };
}

function describeSlot(module: Pkcs11Module, handle: Handle): SlotEntry {
  let info: SlotInfo;
  try {
    info = module.lib.C_GetSlotInfo(handle);
  } catch (error) {
    throw pkcs11Failure(error, `read slot 0x${slotIdOf(handle).toString(16)}`);
  }
  const tokenPresent = (info.flags & ck3.CKF_TOKEN_PRESENT) !== 0;
  const entry: SlotEntry = {
    handle,
    id: slotIdOf(handle),
    description: trimPadded(info.slotDescription),
    manufacturer: trimPadded(info.manufacturerID),
    tokenPresent,
    token: undefined,
    tokenError: undefined,
  };
  if (tokenPresent) {
    try {
      entry.token = describeToken(module.lib.C_GetTokenInfo(handle));
    } catch (error) {
      const name = ckrOf(error);
      if (name === undefined) throw error;
      entry.tokenError = name;
    }
  }
  return entry;
}

/** Slots with a token, or every slot with `all`. */
export function listSlots(module: Pkcs11Module, all: boolean): SlotEntry[] {
  return module.slots(!all).map((handle) => describeSlot(module, handle));
}

/**
 * The slot --slot-index names: the n-th of every slot the module lists (C_GetSlotList with
 * tokenPresent false, as pkcs11-tool counts), exit 3 past the end.
 */
export function slotAtIndex(module: Pkcs11Module, index: number): SlotEntry {
  const slots = listSlots(module, true);
  const entry = slots[index];
  if (!entry) {
    throw new TspError(
      "not-found",
      `select token (slot index ${index}): the module has ${slots.length} slot${slots.length === 1 ? "" : "s"} (indexes from 0)`,
    );
  }
  return entry;
}

function matches(entry: SlotEntry, selector: TokenSelector, indexed?: SlotEntry): boolean {
  const token = entry.token;
  if (indexed && entry.id !== indexed.id) return false;
  if (selector.slot !== undefined && entry.id !== selector.slot) return false;
  if (selector.label !== undefined && token?.label !== selector.label) return false;
  if (selector.serial !== undefined && token?.serial !== selector.serial) return false;
  return (
    !selector.uri ||
    tokenMatches(selector.uri, {
      slotId: entry.id,
      slotDescription: entry.description,
      slotManufacturer: entry.manufacturer,
      token,
    })
  );
}

export function hasSelector(selector: TokenSelector): boolean {
  return (
    selector.slot !== undefined ||
    selector.label !== undefined ||
    selector.serial !== undefined ||
    selector.slotIndex !== undefined ||
    namesToken(selector.uri)
  );
}

/** The URI's library-* attributes name another module: no token of this one matches (exit 3). */
function checkLibrary(module: Pkcs11Module, uri: Pkcs11Uri | undefined): void {
  if (
    !uri ||
    (uri.libraryManufacturer === undefined &&
      uri.libraryDescription === undefined &&
      uri.libraryVersion === undefined)
  ) {
    return;
  }
  const info = module.info();
  const why = libraryMismatch(uri, {
    manufacturer: trimPadded(info.manufacturerID),
    description: trimPadded(info.libraryDescription),
    version: info.libraryVersion,
  });
  if (why !== undefined) {
    throw new TspError(
      "not-found",
      `select token (the URI): no token matches: the module's ${why}`,
    );
  }
}

export function describeSelector(selector: TokenSelector): string {
  const parts: string[] = [];
  if (selector.slotIndex !== undefined) parts.push(`slot index ${selector.slotIndex}`);
  if (selector.slot !== undefined) parts.push(`slot 0x${selector.slot.toString(16)}`);
  if (selector.label !== undefined) parts.push(`label "${selector.label}"`);
  if (selector.serial !== undefined) parts.push(`serial ${selector.serial}`);
  const uriToken = selector.uri?.token;
  if (uriToken !== undefined && uriToken !== selector.label) parts.push(`URI token "${uriToken}"`);
  else if (selector.uri && uriToken === undefined) parts.push("the URI");
  return parts.join(", ") || "any token";
}

function nameTokens(entries: SlotEntry[]): string {
  return entries
    .map(
      (entry) =>
        `"${entry.token?.label ?? "?"}" (slot 0x${entry.id.toString(16)}, serial ${entry.token?.serial ?? "?"})`,
    )
    .join(", ");
}

/** What a selector that matched nothing could have named: the tokens there are. */
function existingTokens(usable: SlotEntry[]): string {
  if (usable.length === 0) return "; there is no initialized token (run tsp11 init-token)";
  return `; the token${usable.length === 1 ? " is" : "s are"} ${nameTokens(usable)}`;
}

export interface SelectOptions {
  /** Allow an uninitialized token (init-token); otherwise only initialized ones are candidates. */
  uninitialized?: boolean;
  /** Words for "no slots" errors, e.g. the p11-kit server hint. */
  emptyHint?: string | undefined;
}

/**
 * The contract's selection: by slot, label, serial or URI; with no selector, the only
 * initialized token. No match → exit 3; several → exit 2 naming them.
 */
export function selectToken(
  module: Pkcs11Module,
  selector: TokenSelector,
  options: SelectOptions = {},
): SlotEntry {
  checkLibrary(module, selector.uri);
  const indexed =
    selector.slotIndex === undefined ? undefined : slotAtIndex(module, selector.slotIndex);
  const slots = listSlots(module, selector.slot !== undefined || indexed !== undefined);
  if (slots.length === 0) {
    throw new TspError(
      "not-found",
      `select token: no slots with a token in ${module.path}${options.emptyHint ?? ""}`,
    );
  }
  const usable = slots.filter(
    (entry) => entry.token && (options.uninitialized || entry.token.initialized),
  );
  if (!hasSelector(selector)) {
    if (usable.length === 1 && usable[0]) return usable[0];
    if (usable.length === 0) {
      throw new TspError(
        "not-found",
        `select token: no initialized token in ${module.path} (run tsp11 init-token)`,
      );
    }
    throw new TspError(
      "usage",
      `select token: several tokens, choose one with --token-label, --serial or --slot: ${nameTokens(usable)}`,
    );
  }
  const selected = slots.filter((entry) => matches(entry, selector, indexed));
  const unreadable = selected.find((entry) => entry.tokenError !== undefined);
  if (unreadable?.tokenError) {
    const name = unreadable.tokenError;
    throw new TspError(
      "not-found",
      `select token in slot 0x${unreadable.id.toString(16)} of ${module.path}: ${describeCkr(name)}`,
      { ckr: name },
    );
  }
  const found = selected.filter(
    (entry) => entry.token && (options.uninitialized || entry.token.initialized),
  );
  if (found.length === 1 && found[0]) return found[0];
  if (found.length === 0) {
    const uninitialized = selected.some((entry) => entry.token && !entry.token.initialized);
    const why = uninitialized ? "the token is not initialized" : "no token matches";
    throw new TspError(
      "not-found",
      `select token (${describeSelector(selector)}): ${why}${uninitialized ? "" : existingTokens(usable)}`,
    );
  }
  throw new TspError(
    "usage",
    `select token (${describeSelector(selector)}): several tokens match: ${nameTokens(found)}`,
  );
}
