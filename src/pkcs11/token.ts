/**
 * The one place commands get a token from: module, selection, session and login, released
 * together (reverse order) on every path.
 */
import { TspError } from "../errors.js";
import type { Pin } from "../pin.js";
import { ckrOf } from "./ckr.js";
import type { ModuleOptions } from "./module.js";
import { Pkcs11Module } from "./module.js";
import type { SelectOptions, SlotEntry, TokenDescription, TokenSelector } from "./select.js";
import { describeToken, selectToken } from "./select.js";
import { TokenSession } from "./session.js";
import { sleep } from "../pause.js";

export type LoginPolicy = "required" | "if-pin" | "none" | "so";

export interface OpenTokenOptions extends SelectOptions {
  module: ModuleOptions;
  selector: TokenSelector;
  login: LoginPolicy;
  rw: boolean;
  /** The PIN for the policy: given, or prompted for when `prompt` is true. */
  pin: (prompt: boolean) => Promise<Pin | undefined>;
}

/**
 * Answers SoftHSM 2.6's file store gives for a moment while another process rewrites the
 * token file (several tsp11 processes started together; measured: C_Login answering
 * CKR_USER_PIN_NOT_INITIALIZED or CKR_GENERAL_ERROR, C_GetTokenInfo CKR_GENERAL_ERROR, the
 * token missing from the slot list). Worth a fresh look at the slots, a bounded number of times.
 */
const TRANSIENT = new Set([
  "CKR_TOKEN_NOT_PRESENT",
  "CKR_USER_PIN_NOT_INITIALIZED",
  "CKR_SLOT_ID_INVALID",
  "CKR_TOKEN_NOT_RECOGNIZED",
  "CKR_GENERAL_ERROR",
]);
const RETRY_DELAYS_MS = [20, 40, 80, 160, 320];

export class TokenScope implements Disposable {
  readonly module: Pkcs11Module;
  readonly slot: SlotEntry;
  readonly token: TokenDescription;
  readonly session: TokenSession;

  constructor(module: Pkcs11Module, slot: SlotEntry, session: TokenSession) {
    this.module = module;
    this.slot = slot;
    this.session = session;
    this.token = slot.token ?? describeToken(module.lib.C_GetTokenInfo(slot.handle));
  }

  [Symbol.dispose](): void {
    this.session[Symbol.dispose]();
    this.module[Symbol.dispose]();
  }
}

function isTransient(error: unknown, module: Pkcs11Module): boolean {
  const name = error instanceof TspError ? error.ckr : ckrOf(error);
  if (name !== undefined) return TRANSIENT.has(name);
  // A token momentarily missing from the slot list. A module with no slot at all (OpenSC
  // without a reader, a p11-kit client without its server) has no race to wait out.
  return error instanceof TspError && error.kind === "not-found" && hasSlots(module);
}

function hasSlots(module: Pkcs11Module): boolean {
  try {
    return module.slots(false).length > 0;
  } catch {
    return false;
  }
}

function openSession(
  module: Pkcs11Module,
  slot: SlotEntry,
  options: OpenTokenOptions,
  pin: Pin | undefined,
): TokenScope {
  const session = TokenSession.open(module.lib, slot.handle, options.rw, module.trace);
  const release = module.onRelease(() => {
    session[Symbol.dispose]();
  });
  try {
    const scope = new TokenScope(module, slot, session);
    if (pin) {
      const who = options.login === "so" ? "so" : "user";
      session.login(
        pin,
        who,
        `log in to token "${scope.token.label}"${who === "so" ? " as SO" : ""}`,
      );
    }
    return scope;
  } catch (error) {
    release();
    session[Symbol.dispose]();
    throw error;
  }
}

/** Prompting is for a login that is needed: a token without CKF_LOGIN_REQUIRED is used as is. */
function needsPrompt(login: LoginPolicy, slot: SlotEntry): boolean {
  return login === "so" || (login === "required" && slot.token?.loginRequired !== false);
}

export async function openToken(options: OpenTokenOptions): Promise<TokenScope> {
  const module = Pkcs11Module.load(options.module);
  try {
    let pin = options.login === "none" ? undefined : await options.pin(false);
    for (let attempt = 0; ; attempt++) {
      try {
        const slot = selectToken(module, options.selector, options);
        if (!pin && needsPrompt(options.login, slot)) pin = await options.pin(true);
        return openSession(module, slot, options, pin);
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined || !isTransient(error, module)) throw error;
        const why = error instanceof Error ? error.message : String(error);
        module.trace?.(`transient answer (${why}); looking at the slots again in ${delay} ms`);
        await sleep(delay);
        module.reinitialize();
      }
    }
  } catch (error) {
    module[Symbol.dispose]();
    throw error;
  }
}

/** The module alone (list-slots, info, init-token). */
export function openModule(options: ModuleOptions): Pkcs11Module {
  return Pkcs11Module.load(options);
}
