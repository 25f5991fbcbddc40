import { existsSync } from "node:fs";
import { onInterrupt } from "../cleanup.js";
import { TspError } from "../errors.js";
import { isCkr, pkcs11Failure } from "./ckr.js";
import type { Handle, ModuleInfo, Pkcs11 } from "./lib.js";
import { ck, newPkcs11 } from "./lib.js";
import type { TraceSink } from "./trace.js";
import { traced } from "./trace.js";

export interface ModuleOptions {
  path: string;
  /** Library parameters for C_Initialize (NSS softoken's configdir=...). */
  params?: string | undefined;
  trace?: TraceSink | undefined;
}

/** Runs a release step; a failure is traced, never thrown (it would hide the real error). */
export function safely(fn: () => void, trace?: TraceSink): void {
  try {
    fn();
  } catch (error) {
    trace?.(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export class Pkcs11Module implements Disposable {
  readonly lib: Pkcs11;
  readonly path: string;
  readonly #options: ModuleOptions;
  readonly #raw: Pkcs11;
  readonly #cleanups = new Set<() => void>();
  #initialized = false;
  #unregister: (() => void) | undefined;

  private constructor(raw: Pkcs11, options: ModuleOptions) {
    this.#raw = raw;
    this.#options = options;
    this.path = options.path;
    this.lib = options.trace ? traced(raw, options.trace) : raw;
  }

  /** Loads and initializes a module: missing file → exit 3, load or init failure → exit 5. */
  static load(options: ModuleOptions): Pkcs11Module {
    if (!existsSync(options.path)) {
      throw new TspError("not-found", `load module: no PKCS#11 module at ${options.path}`);
    }
    const raw = newPkcs11();
    try {
      raw.load(options.path);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new TspError("module", `load module ${options.path}: ${why}`, { cause: error });
    }
    const module = new Pkcs11Module(raw, options);
    try {
      module.#initialize();
    } catch (error) {
      safely(() => {
        raw.close();
      });
      throw error;
    }
    module.#unregister = onInterrupt(() => {
      module[Symbol.dispose]();
    });
    return module;
  }

  /**
   * CKF_OS_LOCKING_OK: pkcs11js always passes an init struct, p11-kit-client.so refuses one
   * without this flag, and vendor modules that reject mutex callbacks accept it.
   */
  #initialize(): void {
    const params = this.#options.params;
    const options = params
      ? { flags: ck.CKF_OS_LOCKING_OK, libraryParameters: params }
      : { flags: ck.CKF_OS_LOCKING_OK };
    try {
      this.lib.C_Initialize(options);
    } catch (error) {
      if (!isCkr(error, "CKR_CRYPTOKI_ALREADY_INITIALIZED")) {
        // NSS's softoken refuses to start without its database location.
        const what = params
          ? `initialize module ${this.path} with the given --module-params`
          : `initialize module ${this.path}`;
        const failure = pkcs11Failure(error, what, "module");
        if (params || !isCkr(error, "CKR_ARGUMENTS_BAD")) throw failure;
        throw new TspError(
          "module",
          `${failure.message}; it may need library parameters: --module-params (NSS: "configdir='sql:DIR' certPrefix='' keyPrefix='' secmod='secmod.db' flags=")`,
          { ckr: failure.ckr, cause: error },
        );
      }
    }
    this.#initialized = true;
  }

  /** Finalize + initialize: the only way to see slots renumbered by another process. */
  reinitialize(): void {
    this.#runCleanups();
    if (this.#initialized) {
      safely(() => {
        this.lib.C_Finalize();
      }, this.#options.trace);
      this.#initialized = false;
    }
    this.#initialize();
  }

  info(): ModuleInfo {
    try {
      return this.lib.C_GetInfo();
    } catch (error) {
      throw pkcs11Failure(error, "read module info");
    }
  }

  slots(tokenPresent: boolean): Handle[] {
    try {
      return this.lib.C_GetSlotList(tokenPresent);
    } catch (error) {
      throw pkcs11Failure(error, "list slots");
    }
  }

  /** Registers a release step (a session) that runs before C_Finalize. */
  onRelease(cleanup: () => void): () => void {
    this.#cleanups.add(cleanup);
    return () => this.#cleanups.delete(cleanup);
  }

  get trace(): TraceSink | undefined {
    return this.#options.trace;
  }

  #runCleanups(): void {
    for (const cleanup of [...this.#cleanups].reverse()) safely(cleanup, this.#options.trace);
    this.#cleanups.clear();
  }

  [Symbol.dispose](): void {
    if (!this.#unregister) return;
    this.#unregister();
    this.#unregister = undefined;
    this.#runCleanups();
    if (this.#initialized) {
      safely(() => {
        this.lib.C_Finalize();
      }, this.#options.trace);
    }
    safely(() => {
      this.#raw.close();
    }, this.#options.trace);
  }
}
