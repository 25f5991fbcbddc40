/**
 * What every command gets: the global options, the output, and the one way to a token.
 * The PKCS#11 layer is small and nearly every command needs it, so it is bundled with the
 * entry point (one file to load); the ASN.1 stack and serve load only where used.
 */
import { TspError } from "./errors.js";
import type { Output } from "./output/io.js";
import { givenPin, Pin, promptPin, SO_PIN_SOURCES } from "./pin.js";
import { resolveModule } from "./pkcs11/default-module.js";
import type { Pkcs11Module, ModuleOptions } from "./pkcs11/module.js";
import type { TokenSelector } from "./pkcs11/select.js";
import type { LoginPolicy, TokenScope } from "./pkcs11/token.js";
import { openModule, openToken } from "./pkcs11/token.js";
import { agreeing, namesToken, parsePkcs11Uri } from "./pkcs11/uri.js";
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
  soPinFile?: string;
  slotIndex?: number;
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

/** Where a global option's value came from (commander's sources: "cli", "env", ...). */
export type OptionSource = (name: keyof GlobalOptions) => string | undefined;

export class CommandContext {
  readonly globals: GlobalOptions;
  readonly output: Output;
  readonly #source: OptionSource;
  #uri: Pkcs11Uri | undefined | null = null;
  #moduleOptions: ModuleOptions | undefined;
  #userPin: Pin | undefined;
  #soPin: Pin | undefined;

  constructor(globals: GlobalOptions, output: Output, source: OptionSource = () => "cli") {
    this.globals = globals;
    this.output = output;
    this.#source = source;
  }

  /** --uri parsed once; its pin-value/pin-source and module-path/module-name count as --pin and --module. */
  get uri(): Pkcs11Uri | undefined {
    if (this.#uri === null)
      this.#uri = this.globals.uri ? parsePkcs11Uri(this.globals.uri) : undefined;
    return this.#uri;
  }

  /** A value from the environment (TSP11_TOKEN, TSP11_MODULE, ...) is a default the URI overrides. */
  #fromCommandLine<K extends keyof GlobalOptions>(name: K): GlobalOptions[K] {
    return this.#source(name) === "env" ? undefined : this.globals[name];
  }

  /**
   * The token selector: the options and the URI's token attributes, all of which must match.
   * An option that says otherwise than the URI is exit 2; environment defaults give way to a
   * URI that names the token.
   */
  get selector(): TokenSelector {
    const uri = this.uri;
    const fromEnv = !namesToken(uri);
    const option = <K extends "slot" | "tokenLabel">(name: K) =>
      fromEnv ? this.globals[name] : this.#fromCommandLine(name);
    return {
      slot: agreeing("--slot", option("slot"), "slot-id", uri?.slotId),
      label: agreeing("--token-label", option("tokenLabel"), "token", uri?.token),
      serial: agreeing("--serial", this.globals.serial, "serial", uri?.serial),
      slotIndex: this.globals.slotIndex,
      uri,
    };
  }

  /** --module, else the URI's module-path or module-name (as --module); both given must agree. */
  #modulePath(): string | undefined {
    const uri = this.uri;
    const fromUri = uri?.modulePath ?? uri?.moduleName;
    const attribute = uri?.modulePath !== undefined ? "module-path" : "module-name";
    const given = fromUri === undefined ? this.globals.module : this.#fromCommandLine("module");
    return agreeing("--module", given, attribute, fromUri);
  }

  moduleOptions(): ModuleOptions {
    if (!this.#moduleOptions) {
      const resolved = resolveModule(this.#modulePath());
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
    const path = this.#moduleOptions?.path ?? this.#modulePath();
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
    // The selector first: a conflicting one is refused before anything is loaded or written.
    const selector = this.selector;
    return openToken({
      module: this.moduleOptions(),
      selector,
      login: request.login,
      rw: request.rw,
      uninitialized: request.uninitialized,
      emptyHint: this.emptyHint(),
      pin: (prompt) => (request.login === "so" ? this.soPin(prompt) : this.userPin(prompt)),
    });
  }

  /**
   * The user PIN from --pin / TSP11_PIN, --pin-file, the URI's pin-value or pin-source, else a
   * prompt. Asked once per run: a command that needs it twice does not prompt twice.
   */
  async userPin(prompt: boolean): Promise<Pin | undefined> {
    this.#userPin ??= await this.#givenUserPin();
    if (!this.#userPin && prompt) this.#userPin = await promptPin("User PIN");
    return this.#userPin;
  }

  /**
   * The URI's PIN overrides TSP11_PIN; given on the command line too, it must be the same PIN
   * (exit 2 otherwise, without saying either).
   */
  async #givenUserPin(): Promise<Pin | undefined> {
    const fromUri = await uriPin(this.uri);
    if (fromUri === undefined)
      return givenPin({ value: this.globals.pin, file: this.globals.pinFile });
    const given = await givenPin({
      value: this.#fromCommandLine("pin"),
      file: this.globals.pinFile,
    });
    if (given !== undefined && given.reveal() !== fromUri.reveal()) {
      throw new TspError(
        "usage",
        "conflicting PINs: --pin/--pin-file and the URI's pin-value/pin-source differ; give one",
      );
    }
    return fromUri;
  }

  /** The SO PIN from --so-pin / TSP11_SO_PIN or --so-pin-file, else a prompt. */
  async soPin(prompt: boolean): Promise<Pin | undefined> {
    this.#soPin ??= await this.givenSoPin();
    if (!this.#soPin && prompt) this.#soPin = await promptPin("SO PIN", SO_PIN_SOURCES);
    return this.#soPin;
  }

  /** The SO PIN given by option, env or file, without prompting. */
  async givenSoPin(): Promise<Pin | undefined> {
    // --so-pin-file on the command line is chosen over a TSP11_SO_PIN of the environment.
    const file = this.globals.soPinFile;
    return givenPin({
      value: file === undefined ? this.globals.soPin : this.#fromCommandLine("soPin"),
      file,
      options: ["--so-pin", "--so-pin-file"],
    });
  }

  /** Fails with exit 2 when an option the command needs is missing. */
  require<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new TspError("usage", `missing ${what}`);
    return value;
  }
}

/**
 * The URI's pin-value, or its pin-source read as --pin-file reads a file (a path or a
 * `file:` URI; RFC 7512 allows other sources, which tsp11 does not run).
 */
async function uriPin(uri: Pkcs11Uri | undefined): Promise<Pin | undefined> {
  if (uri?.pinValue !== undefined) return new Pin(uri.pinValue);
  if (uri?.pinSource === undefined) return undefined;
  return givenPin({ file: pinSourcePath(uri.pinSource) });
}

export function pinSourcePath(source: string): string {
  const file = /^file:(?:\/\/(?:localhost)?(?=\/))?(.+)$/i.exec(source);
  if (file?.[1] !== undefined) return file[1];
  if (/^[a-z][a-z0-9+.-]*:/i.test(source) || source.startsWith("|")) {
    throw new TspError(
      "usage",
      `invalid PKCS#11 URI: pin-source must be a file (a path or file: URI), not "${source}"`,
    );
  }
  return source;
}
