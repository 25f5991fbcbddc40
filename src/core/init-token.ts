import { TspError } from "../errors.js";
import type { Pin } from "../pin.js";
import { initToken, initUserPin } from "../pkcs11/admin.js";
import { step } from "../pkcs11/ckr.js";
import type { Pkcs11Module } from "../pkcs11/module.js";
import { trimPadded } from "../pkcs11/names.js";
import type { SlotEntry, TokenSelector } from "../pkcs11/select.js";
import { hasSelector, listSlots, slotAtIndex } from "../pkcs11/select.js";
import { pinLengthRange } from "../pkcs11/pin-hints.js";
import { TokenSession } from "../pkcs11/session.js";

export interface InitTokenOptions {
  label: string;
  soPin: Pin;
  userPin?: Pin | undefined;
  selector: TokenSelector;
  force: boolean;
  /** Words for "no slots" (the p11-kit server hint). */
  emptyHint?: string | undefined;
}

export interface InitTokenResult {
  slot: number;
  label: string;
  serial: string;
  uri: string;
}

/** Token labels are 32 bytes, blank padded (PKCS#11 CK_TOKEN_INFO); pkcs11js would pad with NULs. */
export function padTokenLabel(label: string): string {
  const length = Buffer.byteLength(label, "utf8");
  if (label.trim() === "") throw new TspError("usage", "init-token: the label must not be empty");
  if (length > 32) {
    throw new TspError(
      "usage",
      `init-token: the label is ${length} bytes long; a token label holds at most 32`,
    );
  }
  return label + " ".repeat(32 - length);
}

function chooseSlot(module: Pkcs11Module, options: InitTokenOptions): SlotEntry {
  const slots = listSlots(module, true).filter((entry) => entry.tokenPresent);
  if (slots.length === 0) {
    throw new TspError(
      "not-found",
      `init-token: no slots with a token in ${module.path}${options.emptyHint ?? ""}`,
    );
  }
  if (!hasSelector(options.selector)) {
    const free = slots.find((entry) => entry.token && !entry.token.initialized);
    if (free) return free;
    throw new TspError(
      "conflict",
      "init-token: no uninitialized token; to re-initialize one (destroying its objects) name it with --slot or --token-label and add --force",
    );
  }
  const index = options.selector.slotIndex;
  // --slot-index counts every slot, with a token or not, as pkcs11-tool does.
  const indexed = index === undefined ? undefined : slotAtIndex(module, index);
  const candidates = indexed ? slots.filter((entry) => entry.id === indexed.id) : slots;
  return checkReinitialize(chooseAmong(candidates, options.selector), options);
}

/** The one slot among `slots` that the selector names. */
function chooseAmong(slots: SlotEntry[], selector: TokenSelector): SlotEntry {
  const { slot, label, serial, uri } = selector;
  const found = slots.filter(
    (entry) =>
      (slot === undefined || entry.id === slot) &&
      (label === undefined || entry.token?.label === label) &&
      (serial === undefined || entry.token?.serial === serial) &&
      (uri?.token === undefined || entry.token?.label === uri.token) &&
      (uri?.serial === undefined || entry.token?.serial === uri.serial),
  );
  const [first, second] = found;
  if (!first)
    throw new TspError("not-found", "init-token: no token matches the given slot/label/serial");
  if (second)
    throw new TspError("usage", "init-token: several tokens match; name one by --slot or --serial");
  return first;
}

/** An initialized token is re-initialized (its objects destroyed) only with --force. */
function checkReinitialize(first: SlotEntry, options: InitTokenOptions): SlotEntry {
  if (first.token?.initialized && !options.force) {
    throw new TspError(
      "conflict",
      `init-token: token "${first.token.label}" is already initialized; add --force to re-initialize it (this destroys its objects)`,
    );
  }
  return first;
}

/**
 * Token labels are unique within a module: a second token with a label makes every selection
 * by that label ambiguous. The token being re-initialized (--force) may keep its own label.
 */
function refuseTakenLabel(module: Pkcs11Module, chosen: SlotEntry, label: string): void {
  const other = listSlots(module, false).find(
    (entry) =>
      entry.id !== chosen.id &&
      entry.token?.initialized === true &&
      entry.token.label === label &&
      entry.token.serial !== chosen.token?.serial,
  );
  if (!other?.token) return;
  throw new TspError(
    "conflict",
    `init-token: token labels must be unique: the token in slot 0x${other.id.toString(16)} (serial ${other.token.serial}) is already labelled "${label}"`,
  );
}

/**
 * A PIN the token will not take is refused before C_InitToken: a user PIN refused after it
 * would leave a token without one. Modules that do not say their limits are left to judge.
 */
function checkPinLength(slot: SlotEntry, pin: Pin, what: string): void {
  const min = slot.token?.minPinLength ?? null;
  const max = slot.token?.maxPinLength ?? null;
  const length = Buffer.byteLength(pin.reveal(), "utf8");
  if ((min === null || length >= min) && (max === null || length <= max)) return;
  const range = pinLengthRange(min ?? 0xffffffff, max ?? 0xffffffff) ?? "";
  throw new TspError(
    "usage",
    `init-token: the ${what} is too short or too long for this token: it takes PINs of ${range} characters; nothing changed`,
  );
}

function setUserPin(module: Pkcs11Module, slot: SlotEntry, soPin: Pin, userPin: Pin): void {
  using session = TokenSession.open(module.lib, slot.handle, true, module.trace);
  session.login(soPin, "so", "log in as SO to set the user PIN");
  initUserPin(session, userPin, "set the user PIN");
}

/**
 * Initializes a token, then reports it as it is afterwards: SoftHSM gives the token a new
 * slot id that only a fresh C_Initialize shows, so it is found again by serial.
 */
export function runInitToken(module: Pkcs11Module, options: InitTokenOptions): InitTokenResult {
  const label = padTokenLabel(options.label);
  const slot = chooseSlot(module, options);
  refuseTakenLabel(module, slot, trimPadded(options.label));
  checkPinLength(slot, options.soPin, "SO PIN");
  if (options.userPin) checkPinLength(slot, options.userPin, "user PIN");
  initToken(
    module,
    slot.handle,
    options.soPin,
    label,
    `initialize token in slot 0x${slot.id.toString(16)}`,
  );
  const serial = step("read token info", () =>
    module.lib.C_GetTokenInfo(slot.handle),
  ).serialNumber.trim();
  if (options.userPin) setUserPin(module, slot, options.soPin, options.userPin);
  module.reinitialize();
  const after = listSlots(module, false).filter(
    (entry) => entry.token?.serial === serial && entry.token.label === trimPadded(options.label),
  );
  const found = after.find((entry) => entry.id === slot.id) ?? after[0];
  if (!found?.token)
    throw new TspError("failure", "init-token: the token is not visible after initialization");
  return {
    slot: found.id,
    label: found.token.label,
    serial: found.token.serial,
    uri: found.token.uri,
  };
}
