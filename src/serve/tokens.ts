/**
 * serve's PKCS#11 state. One module for the whole process (C_Initialize with
 * CKF_OS_LOCKING_OK, done by Pkcs11Module.load); per token a small pool of sessions opened
 * async (key generation and C_Sign run on the thread pool), and the login in force with the
 * PIN that established it.
 *
 * Login is per application and token (PKCS#11 2.40 §5.6): one C_Login logs in every session
 * of the process, and a second one answers CKR_USER_ALREADY_LOGGED_IN without looking at
 * the PIN. So a request never rides on another request's login: its PIN is compared (in
 * constant time, with an HMAC of the PIN in force under a key of this process, which is all
 * that is kept of it) and refused when it differs, without reaching the token (repeated
 * wrong PINs cannot lock it); only when nothing is logged in does C_Login decide. C_Login is
 * synchronous, so the check-then-login runs without interleaving.
 *
 * init-token takes the module alone (a writer lock): C_InitToken refuses a token with open
 * sessions, and afterwards the module is re-initialized (SoftHSM renumbers slots), which
 * closes every session; every token is then looked up by label (or serial) anew.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { availableParallelism } from "node:os";
import type { TokenKey } from "../core/find-key.js";
import { TspError } from "../errors.js";
import type { Pin } from "../pin.js";
import { ckrOf } from "../pkcs11/ckr.js";
import type { ModuleOptions } from "../pkcs11/module.js";
import { Pkcs11Module, safely } from "../pkcs11/module.js";
import type { SlotEntry, TokenSelector } from "../pkcs11/select.js";
import { selectToken } from "../pkcs11/select.js";
import { TokenSession } from "../pkcs11/session.js";
import { TokenScope } from "../pkcs11/token.js";
import { RwLock, Semaphore } from "./lock.js";

/** required: no PIN, no work (401); if-pin: log in when a PIN comes (list-objects). */
export type LoginNeed = "required" | "if-pin";

export interface TokenWork {
  /** The token and a session of its own for this request. Never disposed by the caller. */
  scope: TokenScope;
  /** The request's PIN is the one in force: private objects are its to see. */
  authenticated: boolean;
  /**
   * Keys found on this token, by selector: object handles stay valid across an application's
   * sessions, and finding a key costs a search and several attribute reads (SoftHSM's file
   * store re-checks each object). Emptied after every request that writes to the token.
   */
  keys: Map<string, TokenKey>;
}

export interface TokenManagerOptions {
  module: ModuleOptions;
  /** Sessions per token (one request at a time each). Default 8. */
  sessionsPerToken?: number | undefined;
  /** Key generations at a time, so they leave thread-pool threads for signing. */
  generations?: number | undefined;
}

/** Answers after which a session (or the token's whole state) is not to be used again. */
const GONE = new Set([
  "CKR_SESSION_HANDLE_INVALID",
  "CKR_SESSION_CLOSED",
  "CKR_TOKEN_NOT_PRESENT",
  "CKR_DEVICE_REMOVED",
  "CKR_SLOT_ID_INVALID",
  "CKR_TOKEN_NOT_RECOGNIZED",
  "CKR_CRYPTOKI_NOT_INITIALIZED",
]);

/** A key of this process only: what is kept of a PIN is useless outside it. */
const PIN_KEY = randomBytes(32);

/** What is kept of the PIN in force: an HMAC, the same length whatever the PIN's. */
function pinDigest(pin: Pin): Buffer {
  return createHmac("sha256", PIN_KEY).update(pin.reveal(), "utf8").digest();
}

function ckrOfError(error: unknown): string | undefined {
  return error instanceof TspError ? error.ckr : ckrOf(error);
}

/**
 * A token in a path: `serial:<serial>` names it by serial (so a token is reachable even when
 * another one has its label), anything else is a label.
 */
export function tokenSelectorOf(segment: string): TokenSelector {
  const serial = /^serial:(.+)$/.exec(segment)?.[1];
  return serial !== undefined ? { serial } : { label: segment };
}

/** One token: its slot as found by label, a pool of sessions, the login in force. */
class TokenState {
  readonly slot: SlotEntry;
  readonly label: string;
  readonly keys = new Map<string, TokenKey>();
  readonly #module: Pkcs11Module;
  readonly #max: number;
  readonly #idle: TokenSession[] = [];
  readonly #waiters: (() => void)[] = [];
  #open = 0;
  #retired = false;
  #readOnly = false;
  /** The digest of the PIN of the login in force; undefined: not logged in. */
  #pin: Buffer | undefined;

  constructor(module: Pkcs11Module, slot: SlotEntry, max: number) {
    this.#module = module;
    this.slot = slot;
    this.label = slot.token?.label ?? "";
    this.#max = max;
  }

  get retired(): boolean {
    return this.#retired;
  }

  get loginRequired(): boolean {
    return this.slot.token?.loginRequired !== false;
  }

  async acquire(): Promise<TokenSession> {
    for (;;) {
      if (this.#retired) {
        throw new TspError(
          "failure",
          `token "${this.label}" changed while the request waited for a session; try again`,
        );
      }
      const idle = this.#idle.pop();
      if (idle) return idle;
      if (this.#open < this.#max) {
        this.#open++;
        try {
          return this.#openSession();
        } catch (error) {
          this.#open--;
          throw error;
        }
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Back to the pool; `broken` (or a retired token) closes it instead. */
  release(session: TokenSession, broken: boolean): void {
    if (broken || this.#retired) this.#close(session);
    else this.#idle.push(session);
    this.#waiters.shift()?.();
  }

  /**
   * This request's PIN becomes the login in force, or is refused. Synchronous from the
   * comparison to C_Login, so no other request can slip in between.
   */
  authenticate(session: TokenSession, pin: Pin): void {
    const what = `log in to token "${this.label}"`;
    if (this.#pin) {
      // Constant time: equal-length digests, compared without an early exit.
      if (timingSafeEqual(this.#pin, pinDigest(pin))) return;
      // The same words as the token's own answer: a known-good PIN is in force and this one differs.
      throw new TspError("auth", `${what}: incorrect PIN`, { ckr: "CKR_PIN_INCORRECT" });
    }
    if (!session.loginUser(pin, what)) {
      // A login we do not know of (lost track of it): the module did not check this PIN.
      session.logout();
      if (!session.loginUser(pin, what)) {
        throw new TspError("failure", `${what}: the module keeps a login that cannot be ended`);
      }
    }
    this.#pin = pinDigest(pin);
  }

  /** The module says the login is gone: the next PIN goes to the token again. */
  forgetLogin(): void {
    this.#pin = undefined;
  }

  /** Logs out and closes every idle session; sessions in use close when released. */
  retire(): void {
    this.#retired = true;
    this.keys.clear();
    const session = this.#idle[0];
    if (this.#pin && session) session.logout();
    this.#pin = undefined;
    for (const idle of this.#idle.splice(0)) this.#close(idle);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Read-write, unless the token is write-protected (then writes fail, reads still work). */
  #openSession(): TokenSession {
    const open = (rw: boolean) =>
      TokenSession.open(this.#module.lib, this.slot.handle, rw, this.#module.trace, {
        async: true,
      });
    if (this.#readOnly) return open(false);
    try {
      return open(true);
    } catch (error) {
      if (ckrOfError(error) !== "CKR_TOKEN_WRITE_PROTECTED") throw error;
      this.#readOnly = true;
      return open(false);
    }
  }

  #close(session: TokenSession): void {
    safely(() => {
      session[Symbol.dispose]();
    }, this.#module.trace);
    this.#open--;
    // The last session of an application on a token takes its login along (PKCS#11 C_CloseSession).
    if (this.#open === 0) this.#pin = undefined;
  }
}

export class TokenManager {
  readonly module: Pkcs11Module;
  readonly #lock = new RwLock();
  /** By serial: a token named by label and by serial:<serial> has one state (one login). */
  readonly #states = new Map<string, TokenState>();
  /** Path segment (label or serial:<serial>) → the serial it resolved to. */
  readonly #aliases = new Map<string, string>();
  readonly #generations: Semaphore;
  readonly #sessionsPerToken: number;
  #closed = false;

  private constructor(module: Pkcs11Module, options: TokenManagerOptions) {
    this.module = module;
    this.#sessionsPerToken = Math.max(1, options.sessionsPerToken ?? 8);
    this.#generations = new Semaphore(
      options.generations ?? Math.max(1, availableParallelism() - 1),
    );
  }

  /** Loads and initializes the module once for the life of the server. */
  static open(options: TokenManagerOptions): TokenManager {
    return new TokenManager(Pkcs11Module.load(options.module), options);
  }

  /** Module-wide reads (list-slots), alongside any other request. */
  async shared<T>(fn: (module: Pkcs11Module) => T | Promise<T>): Promise<T> {
    return this.#lock.read(async () => {
      this.#checkOpen();
      return await fn(this.module);
    });
  }

  /**
   * Work that needs the module alone (init-token): waits for every request in flight, closes
   * every session, and forgets every token, whose slot ids may change.
   */
  async exclusive<T>(fn: (module: Pkcs11Module) => T | Promise<T>): Promise<T> {
    return this.#lock.write(async () => {
      this.#checkOpen();
      this.#retireAll();
      try {
        return await fn(this.module);
      } finally {
        this.#retireAll();
      }
    });
  }

  /**
   * Runs `fn` on the token with this label (or `serial:<serial>`), with a session of its own and, when a PIN comes,
   * logged in with it (or refused). `generate`: a key generation, run a few at a time;
   * `writes`: the work creates or destroys objects (the token's known keys are forgotten).
   */
  async withToken<T>(
    label: string,
    pin: Pin | undefined,
    need: LoginNeed,
    fn: (work: TokenWork) => Promise<T>,
    options: { generate?: boolean; writes?: boolean } = {},
  ): Promise<T> {
    return this.#lock.read(async () => {
      this.#checkOpen();
      const state = this.#state(label);
      if (pin === undefined && need === "required" && state.loginRequired) {
        throw new TspError(
          "auth",
          `log in to token "${state.label}": a PIN is needed (send it in the X-PKCS11-PIN header)`,
        );
      }
      const release = options.generate ? await this.#generations.acquire() : undefined;
      try {
        const session = await state.acquire();
        if (pin !== undefined) {
          try {
            state.authenticate(session, pin);
          } catch (error) {
            // A refused PIN leaves the session as it was (closing it might end the login in force).
            state.release(session, false);
            throw error;
          }
        }
        let broken = false;
        try {
          // Keys with CKA_ALWAYS_AUTHENTICATE log in again with this request's PIN, and only it.
          session.holdPinForKeyUse(pin);
          const scope = new TokenScope(this.module, state.slot, session);
          return await fn({ scope, authenticated: pin !== undefined, keys: state.keys });
        } catch (error) {
          broken = this.#afterFailure(state, error);
          throw error;
        } finally {
          session.holdPinForKeyUse(undefined);
          if (options.writes) state.keys.clear();
          state.release(session, broken);
        }
      } finally {
        release?.();
      }
    });
  }

  /** Logs out, closes every session and finalizes the module, once nothing is in flight. */
  async close(): Promise<void> {
    await this.#lock.write(() => {
      if (this.#closed) return Promise.resolve();
      this.#closed = true;
      this.#retireAll();
      this.module[Symbol.dispose]();
      return Promise.resolve();
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new TspError("failure", "the server is shutting down");
  }

  /**
   * The token's state, found by label or `serial:<serial>` (slot ids are never trusted across
   * re-initialization). Both names of a token share its state: two states would each think
   * they own the one login the module keeps per token.
   */
  #state(segment: string): TokenState {
    const serial = this.#aliases.get(segment);
    const known = serial === undefined ? undefined : this.#states.get(serial);
    if (known && !known.retired) return known;
    const slot = selectToken(this.module, tokenSelectorOf(segment));
    const key = slot.token?.serial ?? segment;
    let state = this.#states.get(key);
    if (!state || state.retired) {
      state = new TokenState(this.module, slot, this.#sessionsPerToken);
      this.#states.set(key, state);
    }
    this.#aliases.set(segment, key);
    return state;
  }

  /** Decides what a failure means for the session and the token; true: close the session. */
  #afterFailure(state: TokenState, error: unknown): boolean {
    const ckr = ckrOfError(error);
    if (ckr === undefined) return false;
    if (ckr === "CKR_USER_NOT_LOGGED_IN") state.forgetLogin();
    if (GONE.has(ckr)) {
      for (const [key, known] of this.#states) if (known === state) this.#states.delete(key);
      state.retire();
    }
    // After any PKCS#11 failure the session may hold an unfinished operation: a fresh one is cheap.
    return true;
  }

  #retireAll(): void {
    for (const state of this.#states.values()) state.retire();
    this.#states.clear();
    this.#aliases.clear();
  }
}
