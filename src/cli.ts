/**
 * Assembles the commander program: the contract's global options, then one command per
 * file. Definitions are cheap; each command loads its PKCS#11 and ASN.1 code when it runs.
 */
import { Command, Option } from "commander";
import { batchCommand } from "./commands/batch.js";
import { certCommand } from "./commands/cert.js";
import { changePinCommand } from "./commands/change-pin.js";
import { completeCommand, completionCommand } from "./commands/completion.js";
import { deleteObjectCommand } from "./commands/delete-object.js";
import { decryptCommand } from "./commands/decrypt.js";
import { digestCommand } from "./commands/digest.js";
import { encryptCommand } from "./commands/encrypt.js";
import { editObjectCommand } from "./commands/edit-object.js";
import { infoCommand } from "./commands/info.js";
import { initTokenCommand } from "./commands/init-token.js";
import { keygenCommand } from "./commands/keygen.js";
import { listMechanismsCommand } from "./commands/list-mechanisms.js";
import { listObjectsCommand } from "./commands/list-objects.js";
import { listSlotsCommand } from "./commands/list-slots.js";
import { randomCommand } from "./commands/random.js";
import { readObjectCommand } from "./commands/read-object.js";
import { reqCommand } from "./commands/req.js";
import { serveCommand } from "./commands/serve.js";
import { signCommand } from "./commands/sign.js";
import { unwrapCommand } from "./commands/unwrap.js";
import { deriveCommand } from "./commands/derive.js";
import { verifyCommand } from "./commands/verify.js";
import { versionCommand } from "./commands/version.js";
import { wrapCommand } from "./commands/wrap.js";
import { writeObjectCommand } from "./commands/write-object.js";
import { parseSlotId, parseSlotIndex } from "./options.js";
import { VERSION } from "./version.js";

function globalOptions(): Option[] {
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

/** Each command's definition, in the order help lists them. */
const COMMANDS: Readonly<Record<string, () => Command>> = {
  "list-slots": listSlotsCommand,
  "init-token": initTokenCommand,
  keygen: keygenCommand,
  "list-objects": listObjectsCommand,
  req: reqCommand,
  "write-object": writeObjectCommand,
  "read-object": readObjectCommand,
  "delete-object": deleteObjectCommand,
  "edit-object": editObjectCommand,
  "change-pin": changePinCommand,
  cert: certCommand,
  sign: signCommand,
  verify: verifyCommand,
  encrypt: encryptCommand,
  decrypt: decryptCommand,
  wrap: wrapCommand,
  unwrap: unwrapCommand,
  derive: deriveCommand,
  random: randomCommand,
  digest: digestCommand,
  "list-mechanisms": listMechanismsCommand,
  info: infoCommand,
  serve: serveCommand,
  batch: batchCommand,
  version: versionCommand,
  completion: completionCommand,
  __complete: completeCommand,
};

/**
 * The command the arguments name: their first word that is not an option or the value of
 * one of `options` (`--module X list-slots`).
 */
export function commandNamed(
  argv: readonly string[],
  options: readonly Option[],
): string | undefined {
  const takesValue = new Set(
    options
      .filter((option) => option.required || option.optional)
      .flatMap((option) => [option.long, option.short]),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") return undefined;
    if (!arg.startsWith("-")) return Object.hasOwn(COMMANDS, arg) ? arg : undefined;
    if (takesValue.has(arg)) i++;
  }
  return undefined;
}

/**
 * The program, with every command; given the arguments, with only the command they name
 * when they name one (defining them all costs a start a few ms of compiling). Help,
 * typos and `tsp11 help` get every command, so listings and suggestions stay whole.
 */
export function buildProgram(argv?: readonly string[]): Command {
  const program = new Command("tsp11")
    .description("PKCS#11 tokens, keys, CSRs, certificates and signatures from the command line")
    .version(VERSION, "-V, --version")
    .showHelpAfterError(false)
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  const options = globalOptions();
  for (const option of options) program.addOption(option);
  // --token is the contract's alias of --token-label.
  program.hook("preAction", (root) => {
    const token = root.getOptionValue("token") as string | undefined;
    if (token !== undefined && root.getOptionValue("tokenLabel") === undefined) {
      root.setOptionValue("tokenLabel", token);
    }
  });
  const named = argv && commandNamed(argv, options);
  for (const [name, define] of Object.entries(COMMANDS)) {
    if (named !== undefined && name !== named) continue;
    program.addCommand(
      define()
        .exitOverride()
        .configureOutput({ outputError: () => undefined }),
      { hidden: name.startsWith("__") },
    );
  }
  return program;
}
