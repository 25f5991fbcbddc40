/**
 * What every command gets: the global options, the output, and the one way to a token.
 * PKCS#11 code is imported here lazily, so `--help` and parsing never load the addon.
 */
import { TspError } from "./errors.js";
import type { Output } from "./output/io.js";
import type { Pin } from "./pin.js";
import type { Pkcs11Module, ModuleOptions } from "./pkcs11/module.js";
import type { TokenSelector } from "./pkcs11/select.js";
import type { LoginPolicy, TokenScope } from "./pkcs11/token.js";
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

  async moduleOptions(): Promise<ModuleOptions> {
    if (!this.#moduleOptions) {
      const { resolveModule } = await import("./pkcs11/default-module.js");
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

  /** "no slots" is not "no token" through p11-kit: say where the server should be. */
  emptyHint(): string | undefined {
    const address = process.env.P11_KIT_SERVER_ADDRESS;
    if (!address || this.globals.module) return undefined;
    return `: is the p11-kit server at ${address} running?`;
  }

  async openModule(): Promise<Pkcs11Module> {
    const { openModule } = await import("./pkcs11/token.js");
    return openModule(await this.moduleOptions());
  }

  async openToken(request: TokenRequest): Promise<TokenScope> {
    const { openToken } = await import("./pkcs11/token.js");
    return openToken({
      module: await this.moduleOptions(),
      selector: this.selector,
      login: request.login,
      rw: request.rw,
      uninitialized: request.uninitialized,
      emptyHint: this.emptyHint(),
      pin: (prompt) => (request.login === "so" ? this.soPin(prompt) : this.userPin(prompt)),
    });
  }

  /** The user PIN from --pin / TSP11_PIN, --pin-file, the URI's pin-value, else a prompt. */
  async userPin(prompt: boolean): Promise<Pin | undefined> {
    const { givenPin, Pin: PinClass, promptPin } = await import("./pin.js");
    const given = givenPin({ value: this.globals.pin, file: this.globals.pinFile });
    if (given) return given;
    if (this.uri?.pinValue !== undefined) return new PinClass(this.uri.pinValue);
    return prompt ? promptPin("User PIN") : undefined;
  }

  async soPin(prompt: boolean): Promise<Pin | undefined> {
    const { givenPin, promptPin } = await import("./pin.js");
    const given = givenPin({ value: this.globals.soPin });
    if (given) return given;
    return prompt ? promptPin("SO PIN") : undefined;
  }

  /** Fails with exit 2 when an option the command needs is missing. */
  require<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new TspError("usage", `missing ${what}`);
    return value;
  }
}
