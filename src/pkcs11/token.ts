/**
 * The one place commands get a token from: module, selection, session and login, released
 * together (reverse order) on every path.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { TspError } from "../errors.js";
import type { Pin } from "../pin.js";
import { ckrOf } from "./ckr.js";
import type { ModuleOptions } from "./module.js";
import { Pkcs11Module } from "./module.js";
import type { SelectOptions, SlotEntry, TokenDescription, TokenSelector } from "./select.js";
import { describeToken, hasSelector, selectToken } from "./select.js";
import { TokenSession } from "./session.js";

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
 * Answers SoftHSM's file store gives for a moment while another process writes it (several
 * tsp11 processes started together): worth a fresh look at the slots, never a failure.
 */
const TRANSIENT = new Set([
  "CKR_TOKEN_NOT_PRESENT",
  "CKR_USER_PIN_NOT_INITIALIZED",
  "CKR_SLOT_ID_INVALID",
  "CKR_TOKEN_NOT_RECOGNIZED",
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

function isTransient(error: unknown, selector: TokenSelector): boolean {
  const name = error instanceof TspError ? error.ckr : ckrOf(error);
  if (name !== undefined) return TRANSIENT.has(name);
  // A named token that is momentarily missing from the slot list.
  return error instanceof TspError && error.kind === "not-found" && hasSelector(selector);
}

function openSession(
  module: Pkcs11Module,
  options: OpenTokenOptions,
  pin: Pin | undefined,
): TokenScope {
  const slot = selectToken(module, options.selector, options);
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

async function pinFor(options: OpenTokenOptions, module: Pkcs11Module): Promise<Pin | undefined> {
  if (options.login === "none") return undefined;
  const given = await options.pin(false);
  if (given || options.login === "if-pin") return given;
  // A token without CKF_LOGIN_REQUIRED is used without logging in unless a PIN is given.
  if (options.login === "required") {
    const slot = selectToken(module, options.selector, options);
    if (slot.token && !slot.token.loginRequired) return undefined;
  }
  return options.pin(true);
}

export async function openToken(options: OpenTokenOptions): Promise<TokenScope> {
  const module = Pkcs11Module.load(options.module);
  try {
    const pin = await pinFor(options, module);
    for (let attempt = 0; ; attempt++) {
      try {
        return openSession(module, options, pin);
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined || !isTransient(error, options.selector)) throw error;
        module.trace?.(
          `transient answer (${error instanceof Error ? error.message : String(error)}); looking again in ${delay} ms`,
        );
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
