import { TspError } from "../errors.js";
import type { Pin } from "../pin.js";
import { isCkr, pkcs11Failure, step } from "./ckr.js";
import type { AttributeInput, AttributeName, AttributeValues } from "./attributes.js";
import { readAttributes, toTemplate, tryReadAttributes } from "./attributes.js";
import type { Attribute, Handle, Mechanism, MechanismInfo, Pkcs11 } from "./lib.js";
import { ck } from "./lib.js";
import { safely } from "./module.js";
import { withPinLimits } from "./pin-hints.js";
import type { TraceSink } from "./trace.js";

/** Handles per C_FindObjects call: large batches keep 10,000-object listings linear and fast. */
const FIND_BATCH = 1024;

/** A value, or in an async session (serve) its promise: `await` costs nothing on a plain value. */
export type MaybePromise<T> = T | Promise<T>;

export interface SessionOptions {
  /**
   * Run the slow calls (key generation, C_Sign) with pkcs11js's …Async variants on the libuv
   * thread pool, so a server's event loop keeps answering; the CLI stays synchronous.
   */
  async?: boolean;
}

/** An async call whose failure is named like step()'s: `<what>: <why> (CKR_...)`. */
function stepAsync<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return run().catch((error: unknown) => {
      throw pkcs11Failure(error, what);
    });
  } catch (error) {
    return Promise.reject(pkcs11Failure(error, what));
  }
}

/**
 * One open session on one token. Released (logout, close) by its owner on every path;
 * methods name the step in their errors (`log in to token "x": incorrect PIN`).
 */
export class TokenSession implements Disposable {
  readonly lib: Pkcs11;
  readonly handle: Handle;
  readonly slot: Handle;
  /** Slow calls go through the …Async variants (SessionOptions.async). */
  readonly async: boolean;
  readonly #trace: TraceSink | undefined;
  #loggedIn = false;
  /** The user's PIN, kept for CKU_CONTEXT_SPECIFIC logins (keys with CKA_ALWAYS_AUTHENTICATE). */
  #userPin: Pin | undefined;
  #alwaysAuthenticate = new Map<string, boolean>();
  #closed = false;
  #mechanisms: Map<number, MechanismInfo | undefined> | undefined;

  constructor(
    lib: Pkcs11,
    slot: Handle,
    handle: Handle,
    trace?: TraceSink,
    options: SessionOptions = {},
  ) {
    this.lib = lib;
    this.slot = slot;
    this.handle = handle;
    this.#trace = trace;
    this.async = options.async === true;
  }

  static open(
    lib: Pkcs11,
    slot: Handle,
    rw: boolean,
    trace?: TraceSink,
    options: SessionOptions = {},
  ): TokenSession {
    const flags = ck.CKF_SERIAL_SESSION | (rw ? ck.CKF_RW_SESSION : 0);
    const handle = step("open session", () => lib.C_OpenSession(slot, flags));
    return new TokenSession(lib, slot, handle, trace, options);
  }

  get loggedIn(): boolean {
    return this.#loggedIn;
  }

  login(pin: Pin, userType: "user" | "so", what: string): void {
    const type = userType === "so" ? ck.CKU_SO : ck.CKU_USER;
    try {
      this.lib.C_Login(this.handle, type, pin.reveal());
    } catch (error) {
      // Another session of this process (or application) already logged in: that is fine.
      if (!isCkr(error, "CKR_USER_ALREADY_LOGGED_IN")) {
        const kind = isCkr(error, "CKR_PIN_LEN_RANGE", "CKR_PIN_INVALID") ? "auth" : undefined;
        throw withPinLimits(pkcs11Failure(error, what, kind), this.lib, this.slot);
      }
    }
    this.#loggedIn = true;
    if (userType === "user") this.#userPin = pin;
  }

  /**
   * serve: the PIN of the request this pooled session now works for, for the context-specific
   * logins of its key uses; `undefined` when the request ends, so no PIN outlives it.
   */
  holdPinForKeyUse(pin: Pin | undefined): void {
    this.#userPin = pin;
  }

  /**
   * After C_SignInit (or another operation's init) with a key that has CKA_ALWAYS_AUTHENTICATE:
   * C_Login as CKU_CONTEXT_SPECIFIC with the PIN the session logged in with (PKCS#11 2.40 4.9).
   */
  authenticateKeyUse(key: Handle, what: string): void {
    const cacheKey = key.toString("hex");
    let always = this.#alwaysAuthenticate.get(cacheKey);
    if (always === undefined) {
      always = this.read(key, ["alwaysAuthenticate"]).alwaysAuthenticate === true;
      this.#alwaysAuthenticate.set(cacheKey, always);
    }
    if (!always) return;
    const pin = this.#userPin;
    if (!pin) {
      throw new TspError(
        "auth",
        `${what}: the key needs the PIN before each use (CKA_ALWAYS_AUTHENTICATE); give a PIN`,
      );
    }
    step(what, () => {
      this.lib.C_Login(this.handle, ck.CKU_CONTEXT_SPECIFIC, pin.reveal());
    });
  }

  /**
   * C_Login as the user for a caller that must know whether the PIN was checked (serve):
   * true when this call logged in, false when the application already was logged in
   * (CKR_USER_ALREADY_LOGGED_IN: the module did NOT check this PIN). The login belongs to the
   * caller, not to this session: disposing the session does not log out.
   */
  loginUser(pin: Pin, what: string): boolean {
    try {
      this.lib.C_Login(this.handle, ck.CKU_USER, pin.reveal());
      return true;
    } catch (error) {
      if (isCkr(error, "CKR_USER_ALREADY_LOGGED_IN")) return false;
      const kind = isCkr(error, "CKR_PIN_LEN_RANGE", "CKR_PIN_INVALID") ? "auth" : undefined;
      throw withPinLimits(pkcs11Failure(error, what, kind), this.lib, this.slot);
    }
  }

  /** C_Logout: ends the application's login on this token (every session's). */
  logout(): void {
    safely(() => {
      this.lib.C_Logout(this.handle);
    }, this.#trace);
  }

  /** Every object matching the template, found in batches; C_FindObjectsFinal always runs. */
  findObjects(query: AttributeInput | Attribute[]): Handle[] {
    const template = Array.isArray(query) ? query : toTemplate(query);
    step("search objects", () => {
      this.lib.C_FindObjectsInit(this.handle, template);
    });
    const found: Handle[] = [];
    try {
      for (;;) {
        const batch = step("search objects", () => this.lib.C_FindObjects(this.handle, FIND_BATCH));
        found.push(...batch);
        if (batch.length < FIND_BATCH) break;
      }
    } finally {
      safely(() => {
        this.lib.C_FindObjectsFinal(this.handle);
      }, this.#trace);
    }
    return found;
  }

  read<N extends AttributeName>(object: Handle, names: readonly N[]): Pick<AttributeValues, N> {
    return step("read object attributes", () =>
      readAttributes(this.lib, this.handle, object, names),
    );
  }

  /** One read of exactly these attributes, or undefined when the object lacks one of them. */
  tryRead<N extends AttributeName>(
    object: Handle,
    names: readonly N[],
  ): Pick<AttributeValues, N> | undefined {
    return step("read object attributes", () =>
      tryReadAttributes(this.lib, this.handle, object, names),
    );
  }

  setAttributes(object: Handle, values: AttributeInput, what: string): void {
    step(what, () => {
      this.lib.C_SetAttributeValue(this.handle, object, toTemplate(values));
    });
  }

  createObject(values: AttributeInput | Attribute[], what: string): Handle {
    const template = Array.isArray(values) ? values : toTemplate(values);
    return step(what, () => this.lib.C_CreateObject(this.handle, template));
  }

  destroyObject(object: Handle, what: string): void {
    step(what, () => {
      this.lib.C_DestroyObject(this.handle, object);
    });
  }

  generateKeyPair(
    mechanism: Mechanism,
    publicTemplate: Attribute[],
    privateTemplate: Attribute[],
    what: string,
  ): MaybePromise<{ publicKey: Handle; privateKey: Handle }> {
    if (this.async) {
      return stepAsync(what, () =>
        this.lib.C_GenerateKeyPairAsync(this.handle, mechanism, publicTemplate, privateTemplate),
      );
    }
    return step(what, () =>
      this.lib.C_GenerateKeyPair(this.handle, mechanism, publicTemplate, privateTemplate),
    );
  }

  generateKey(mechanism: Mechanism, template: Attribute[], what: string): MaybePromise<Handle> {
    if (this.async) {
      return stepAsync(what, () => this.lib.C_GenerateKeyAsync(this.handle, mechanism, template));
    }
    return step(what, () => this.lib.C_GenerateKey(this.handle, mechanism, template));
  }

  /**
   * C_Sign after a C_SignInit: on the thread pool in an async session when `slow` (a quick
   * signature costs less than the trip to the pool and back).
   */
  sign(data: Buffer, output: Buffer, what: string, slow = true): MaybePromise<Buffer> {
    if (this.async && slow) {
      return stepAsync(what, () => this.lib.C_SignAsync(this.handle, data, output));
    }
    return step(what, () => this.lib.C_Sign(this.handle, data, output));
  }

  /** The slot's mechanisms (read once per session); "don't guess, check the list". */
  mechanisms(): Map<number, MechanismInfo | undefined> {
    if (!this.#mechanisms) {
      const list = step("list mechanisms", () => this.lib.C_GetMechanismList(this.slot));
      this.#mechanisms = new Map(list.map((mechanism) => [mechanism, undefined]));
    }
    return this.#mechanisms;
  }

  hasMechanism(mechanism: number): boolean {
    return this.mechanisms().has(mechanism);
  }

  mechanismInfo(mechanism: number): MechanismInfo {
    const cache = this.mechanisms();
    let info = cache.get(mechanism);
    if (!info) {
      info = step("read mechanism info", () => this.lib.C_GetMechanismInfo(this.slot, mechanism));
      cache.set(mechanism, info);
    }
    return info;
  }

  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#loggedIn) {
      safely(() => {
        this.lib.C_Logout(this.handle);
      }, this.#trace);
    }
    safely(() => {
      this.lib.C_CloseSession(this.handle);
    }, this.#trace);
  }
}
