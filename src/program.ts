/**
 * The program without its commands: the contract's global options and the root command.
 * Light on purpose: `tsp11 <command>` loads this, then only the named command's module
 * (src/commands/registry.ts); src/cli.ts adds every command for help and suggestions.
 */
import { Command, Option } from "commander";
import { parseSlotId, parseSlotIndex } from "./options.js";
import { STDERR, STDOUT } from "./output/stdio.js";
import { VERSION } from "./version.js";

export function globalOptions(): Option[] {
  return [
    new Option("--module <path>", "PKCS#11 library to load (default: embedded SoftHSM2)").env(
      "TSP11_MODULE",
    ),
    new Option(
      "--module-params <string>",
      "library parameters for C_Initialize (NSS softoken)",
    ).env("TSP11_MODULE_PARAMS"),
    new Option("--slot <id>", "slot id, decimal or 0x hex")
      .env("TSP11_SLOT")
      .argParser(parseSlotId),
    new Option(
      "--slot-index <n>",
      "the n-th slot of the module's slot list (0-based, as pkcs11-tool)",
    ).argParser(parseSlotIndex),
    new Option("-t, --token-label <label>", "select the token by label").env("TSP11_TOKEN"),
    new Option("--token <label>", "alias of --token-label").hideHelp(),
    new Option("--serial <serial>", "select the token by serial number"),
    new Option("--uri <pkcs11-uri>", "RFC 7512 URI selecting token and object"),
    new Option("-p, --pin <pin>", "user PIN (or env:NAME)").env("TSP11_PIN"),
    new Option("--pin-file <path>", "read the user PIN from a file"),
    new Option("--so-pin <pin>", "security-officer PIN (or env:NAME)").env("TSP11_SO_PIN"),
    new Option("--so-pin-file <path>", "read the SO PIN from a file"),
    new Option("--json", "one JSON document on stdout"),
    new Option("--no-color", "plain text"),
    new Option("-q, --quiet", "less output"),
    new Option("-v, --verbose", "trace every PKCS#11 call to stderr"),
  ];
}

/**
 * commander's output (help, --version) goes where every other output goes: a failed write is
 * the one-line error and exit 1 (src/output/stdio.ts). Its errors are thrown, not printed:
 * src/run.ts reports them once.
 */
const OUTPUT = {
  writeOut: (text: string): void => {
    STDOUT.write(text);
  },
  writeErr: (text: string): void => {
    STDERR.write(text);
  },
  outputError: (): void => undefined,
  // commander's own default: a terminal's width, else 80.
  getOutHelpWidth: (): number => (STDOUT.isTTY ? (STDOUT.columns ?? 80) : 80),
  getErrHelpWidth: (): number => (STDERR.isTTY ? (STDERR.columns ?? 80) : 80),
};

/** The root command with the global options and no subcommand yet. */
export function rootProgram(options: readonly Option[] = globalOptions()): Command {
  const program = new Command("tsp11")
    .description("PKCS#11 tokens, keys, CSRs, certificates and signatures from the command line")
    .version(VERSION, "-V, --version")
    .showHelpAfterError(false)
    .configureHelp({ showGlobalOptions: true })
    .configureOutput(OUTPUT)
    .exitOverride();
  for (const option of options) program.addOption(option);
  // --token is the contract's alias of --token-label.
  program.hook("preAction", (root) => {
    const token = root.getOptionValue("token") as string | undefined;
    if (token !== undefined && root.getOptionValue("tokenLabel") === undefined) {
      root.setOptionValue("tokenLabel", token);
    }
  });
  return program;
}

/** Adds a command as every command is added: errors thrown, not printed. */
export function addCommand(program: Command, command: Command): void {
  program.addCommand(command.exitOverride().configureOutput(OUTPUT), {
    hidden: command.name().startsWith("__"),
  });
}

/**
 * The command the arguments name: their first word that is not an option or the value of
 * one of `options` (`--module X list-slots`), if it is one of `names`.
 */
export function commandNamed<Name extends string>(
  argv: readonly string[],
  options: readonly Option[],
  names: readonly Name[],
): Name | undefined {
  const takesValue = new Set(
    options
      .filter((option) => option.required || option.optional)
      .flatMap((option) => [option.long, option.short]),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") return undefined;
    if (!arg.startsWith("-")) return names.find((name) => name === arg);
    if (takesValue.has(arg)) i++;
  }
  return undefined;
}
