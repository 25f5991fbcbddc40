/**
 * Assembles the commander program: the contract's global options, then one command per
 * file. Definitions are cheap; each command loads its PKCS#11 and ASN.1 code when it runs.
 */
import { Command, Option } from "commander";
import { certCommand } from "./commands/cert.js";
import { changePinCommand } from "./commands/change-pin.js";
import { deleteObjectCommand } from "./commands/delete-object.js";
import { infoCommand } from "./commands/info.js";
import { initTokenCommand } from "./commands/init-token.js";
import { keygenCommand } from "./commands/keygen.js";
import { listMechanismsCommand } from "./commands/list-mechanisms.js";
import { listObjectsCommand } from "./commands/list-objects.js";
import { listSlotsCommand } from "./commands/list-slots.js";
import { readObjectCommand } from "./commands/read-object.js";
import { reqCommand } from "./commands/req.js";
import { serveCommand } from "./commands/serve.js";
import { signCommand } from "./commands/sign.js";
import { verifyCommand } from "./commands/verify.js";
import { writeObjectCommand } from "./commands/write-object.js";
import { parseSlotId } from "./options.js";
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
    new Option("-t, --token-label <label>", "select the token by label").env("TSP11_TOKEN"),
    new Option("--token <label>", "alias of --token-label").hideHelp(),
    new Option("--serial <serial>", "select the token by serial number"),
    new Option("--uri <pkcs11-uri>", "RFC 7512 URI selecting token and object"),
    new Option("-p, --pin <pin>", "user PIN (or env:NAME)").env("TSP11_PIN"),
    new Option("--pin-file <path>", "read the user PIN from a file"),
    new Option("--so-pin <pin>", "security-officer PIN").env("TSP11_SO_PIN"),
    new Option("--json", "one JSON document on stdout"),
    new Option("--no-color", "plain text"),
    new Option("-q, --quiet", "less output"),
    new Option("-v, --verbose", "trace every PKCS#11 call to stderr"),
  ];
}

export function buildProgram(): Command {
  const program = new Command("tsp11")
    .description("PKCS#11 tokens, keys, CSRs, certificates and signatures from the command line")
    .version(VERSION, "-V, --version")
    .showHelpAfterError(false)
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  for (const option of globalOptions()) program.addOption(option);
  // --token is the contract's alias of --token-label.
  program.hook("preAction", (root) => {
    const token = root.getOptionValue("token") as string | undefined;
    if (token !== undefined && root.getOptionValue("tokenLabel") === undefined) {
      root.setOptionValue("tokenLabel", token);
    }
  });
  for (const command of [
    listSlotsCommand(),
    initTokenCommand(),
    keygenCommand(),
    listObjectsCommand(),
    reqCommand(),
    writeObjectCommand(),
    readObjectCommand(),
    deleteObjectCommand(),
    changePinCommand(),
    certCommand(),
    signCommand(),
    verifyCommand(),
    listMechanismsCommand(),
    infoCommand(),
    serveCommand(),
  ]) {
    program.addCommand(command.exitOverride().configureOutput({ outputError: () => undefined }));
  }
  return program;
}
