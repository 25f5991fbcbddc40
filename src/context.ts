/**
 * What every command gets: the global options, the output, and the one way to a token.
 * The PKCS#11 layer is small and nearly every command needs it, so it is bundled with the
 * entry point (one file to load); the ASN.1 stack and serve load only where used.
 */
import { TspError } from "./errors.js";
import type { Output } from "./output/io.js";
import { givenPin, Pin, promptPin } from "./pin.js";
import { resolveModule } from "./pkcs11/default-module.js";
import type { Pkcs11Module, ModuleOptions } from "./pkcs11/module.js";
import type { TokenSelector } from "./pkcs11/select.js";
import type { LoginPolicy, TokenScope } from "./pkcs11/token.js";
import { openModule, openToken } from "./pkcs11/token.js";
import { parsePkcs11Uri } from "./pkcs11/uri.js";
import type { Pkcs11Uri } from "./pkcs11/uri.js";

export interface GlobalOptions {
  module?: string;
  moduleParams?: string;
  slot?: number;
  tokenLabel?: string;
  serial?: string;
  uri?: string;
  pin?: string;
  pinFile?: string;
  soPin?: string;
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export interface TokenRequest {
  login: LoginPolicy;
  rw: boolean;
  uninitialized?: boolean;
}

export class CommandContext {
  readonly globals: GlobalOptions;
  readonly output: Output;
  #uri: Pkcs11Uri | undefined | null = null;
  #moduleOptions: ModuleOptions | undefined;
  #userPin: Pin | undefined;
  #soPin: Pin | undefined;

  constructor(globals: GlobalOptions, output: Output) {
    this.globals = globals;
    this.output = output;
  }

  /** --uri parsed once; its pin-value and module-path count as --pin and --module. */
  get uri(): Pkcs11Uri | undefined {
    if (this.#uri === null)
      this.#uri = this.globals.uri ? parsePkcs11Uri(this.globals.uri) : undefined;
    return this.#uri;
  }

  get selector(): TokenSelector {
    return {
      slot: this.globals.slot,
      label: this.globals.tokenLabel,
      serial: this.globals.serial,
      uri: this.uri,
    };
  }

  moduleOptions(): ModuleOptions {
    if (!this.#moduleOptions) {
      const resolved = resolveModule(this.globals.module ?? this.uri?.modulePath);
      this.#moduleOptions = {
        path: resolved.path,
        params: this.globals.moduleParams,
        trace: this.globals.verbose
          ? (line) => {
              this.output.trace(line);
            }
          : undefined,
      };
    }
    return this.#moduleOptions;
  }

  /** p11-kit-client.so: the default with P11_KIT_SERVER_ADDRESS, or named by --module. */
  #isP11KitClient(): boolean {
    const path = this.#moduleOptions?.path ?? this.globals.module ?? this.uri?.modulePath;
    if (path === undefined) return Boolean(process.env.P11_KIT_SERVER_ADDRESS);
    return /(^|\/)p11-kit-client\.so[^/]*$/.test(path);
  }

  /** "no slots" is not "no token" through p11-kit: say where the server should be. */
  emptyHint(): string | undefined {
    if (!this.#isP11KitClient()) return undefined;
    const address = process.env.P11_KIT_SERVER_ADDRESS;
    if (!address) return ": P11_KIT_SERVER_ADDRESS is not set (p11-kit-client.so needs a server)";
    return `: is the p11-kit server at ${address} running?`;
  }

  /**
   * A p11-kit client whose server went away answers CKR_DEVICE_ERROR to every call: the
   * error then names the server, so "token unreachable" says which one.
   */
  explain(error: unknown): unknown {
    if (!(error instanceof TspError) || error.ckr !== "CKR_DEVICE_ERROR") return error;
    if (!this.#isP11KitClient()) return error;
    const address = process.env.P11_KIT_SERVER_ADDRESS ?? "(P11_KIT_SERVER_ADDRESS unset)";
    return new TspError(
      error.kind,
      `${error.message}: lost the connection to the p11-kit server at ${address}`,
      { ckr: error.ckr, cause: error },
    );
  }

  openModule(): Pkcs11Module {
    return openModule(this.moduleOptions());
  }

  async openToken(request: TokenRequest): Promise<TokenScope> {
    return openToken({
      module: this.moduleOptions(),
      selector: this.selector,
      login: request.login,
      rw: request.rw,
      uninitialized: request.uninitialized,
      emptyHint: this.emptyHint(),
      pin: (prompt) => (request.login === "so" ? this.soPin(prompt) : this.userPin(prompt)),
    });
  }

  /**
   * The user PIN from --pin / TSP11_PIN, --pin-file, the URI's pin-value, else a prompt.
   * Asked once per run: a command that needs it twice does not prompt twice.
   */
  async userPin(prompt: boolean): Promise<Pin | undefined> {
    this.#userPin ??= await givenPin({ value: this.globals.pin, file: this.globals.pinFile });
    if (!this.#userPin && this.uri?.pinValue !== undefined)
      this.#userPin = new Pin(this.uri.pinValue);
    if (!this.#userPin && prompt) this.#userPin = await promptPin("User PIN");
    return this.#userPin;
  }

  async soPin(prompt: boolean): Promise<Pin | undefined> {
    this.#soPin ??= await givenPin({ value: this.globals.soPin });
    if (!this.#soPin && prompt) this.#soPin = await promptPin("SO PIN");
    return this.#soPin;
  }

  /** Fails with exit 2 when an option the command needs is missing. */
  require<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new TspError("usage", `missing ${what}`);
    return value;
  }
}
