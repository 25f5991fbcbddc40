import type { Pin } from "../pin.js";
import { isCkr, pkcs11Failure, step } from "./ckr.js";
import type { AttributeInput, AttributeName, AttributeValues } from "./attributes.js";
import { readAttributes, toTemplate } from "./attributes.js";
import type { Attribute, Handle, Mechanism, MechanismInfo, Pkcs11 } from "./lib.js";
import { ck } from "./lib.js";
import { safely } from "./module.js";
import type { TraceSink } from "./trace.js";

/** Handles per C_FindObjects call: large batches keep 10,000-object listings linear and fast. */
const FIND_BATCH = 1024;

/**
 * One open session on one token. Released (logout, close) by its owner on every path;
 * methods name the step in their errors (`log in to token "x": incorrect PIN`).
 */
export class TokenSession implements Disposable {
  readonly lib: Pkcs11;
  readonly handle: Handle;
  readonly slot: Handle;
  readonly #trace: TraceSink | undefined;
  #loggedIn = false;
  #closed = false;
  #mechanisms: Map<number, MechanismInfo | undefined> | undefined;

  constructor(lib: Pkcs11, slot: Handle, handle: Handle, trace?: TraceSink) {
    this.lib = lib;
    this.slot = slot;
    this.handle = handle;
    this.#trace = trace;
  }

  static open(lib: Pkcs11, slot: Handle, rw: boolean, trace?: TraceSink): TokenSession {
    const flags = ck.CKF_SERIAL_SESSION | (rw ? ck.CKF_RW_SESSION : 0);
    const handle = step("open session", () => lib.C_OpenSession(slot, flags));
    return new TokenSession(lib, slot, handle, trace);
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
        throw pkcs11Failure(error, what, kind);
      }
    }
    this.#loggedIn = true;
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

  setAttributes(object: Handle, values: AttributeInput, what: string): void {
    step(what, () => {
      this.lib.C_SetAttributeValue(this.handle, object, toTemplate(values));
    });
  }

  createObject(values: AttributeInput, what: string): Handle {
    return step(what, () => this.lib.C_CreateObject(this.handle, toTemplate(values)));
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
  ): { publicKey: Handle; privateKey: Handle } {
    return step(what, () =>
      this.lib.C_GenerateKeyPair(this.handle, mechanism, publicTemplate, privateTemplate),
    );
  }

  generateKey(mechanism: Mechanism, template: Attribute[], what: string): Handle {
    return step(what, () => this.lib.C_GenerateKey(this.handle, mechanism, template));
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
