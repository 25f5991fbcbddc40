/**
 * write-object's key types (privkey, pkcs12, secret): their options, the pass phrase (given,
 * from a file, or asked without echo) and the rendering of what was stored.
 */
import type { Command } from "commander";
import { Option } from "commander";
import type { ImportedObject, ImportType, SecretKeyType } from "../core/import-key.js";
import type { CommandContext } from "../context.js";
import { TspError, usageError } from "../errors.js";
import { readInput } from "../files.js";
import { parseUsage } from "../options.js";
import type { Usage } from "../options.js";
import { Pin, promptPin } from "../pin.js";
import { printRecord, printTable } from "../output/render.js";

const SECRET_KEY_TYPES = ["aes", "generic", "des3"] as const;

export interface ImportFlags {
  input?: string;
  id?: Uint8Array;
  label?: string;
  force?: boolean;
  private?: boolean;
  keyPass?: string;
  keyPassFile?: string;
  usage?: Usage[];
  extractable?: boolean;
  /** --no-public-key sets it false. */
  publicKey?: boolean;
  keyType?: SecretKeyType;
  hex?: string;
}

/** The options only the key types take. */
export function importKeyOptions(command: Command): Command {
  return command
    .option("--key-pass <pass>", "pass phrase of an encrypted key or PKCS#12 file")
    .option("--key-pass-file <path>", "read the pass phrase from a file (one newline stripped)")
    .option(
      "--usage <list>",
      "privkey/pkcs12/secret: sign,decrypt,derive,wrap,... (default sign; secret: encrypt,decrypt)",
      parseUsage,
    )
    .option("--extractable", "privkey/pkcs12/secret: the key may be exported (wrapped)")
    .option("--no-public-key", "privkey/pkcs12: store no public-key object beside the key")
    .addOption(new Option("--key-type <type>", "secret: the key's type").choices(SECRET_KEY_TYPES))
    .option("--hex <hex>", "secret: the key's bytes in hex instead of -f/--input");
}

/** A cert/pubkey/data write with a key type's option is a mistake worth saying. */
export function refuseKeyOptions(flags: ImportFlags, type: string): void {
  const given: [boolean, string][] = [
    [flags.keyPass !== undefined, "--key-pass"],
    [flags.keyPassFile !== undefined, "--key-pass-file"],
    [flags.usage !== undefined, "--usage"],
    [flags.extractable === true, "--extractable"],
    [flags.publicKey === false, "--no-public-key"],
    [flags.keyType !== undefined, "--key-type"],
    [flags.hex !== undefined, "--hex"],
  ];
  const wrong = given.filter(([on]) => on).map(([, name]) => name);
  if (wrong.length > 0) {
    throw usageError(`write-object: ${wrong.join(", ")} does not apply to --type ${type}`);
  }
}

async function givenPassphrase(flags: ImportFlags): Promise<Pin | undefined> {
  if (flags.keyPass !== undefined && flags.keyPassFile !== undefined) {
    throw usageError("write-object: give either --key-pass or --key-pass-file, not both");
  }
  if (flags.keyPass !== undefined) return new Pin(flags.keyPass);
  if (flags.keyPassFile === undefined) return undefined;
  const bytes = await readInput(flags.keyPassFile, "pass phrase file");
  return new Pin(
    Buffer.from(bytes)
      .toString("utf8")
      .replace(/\r?\n$/, ""),
  );
}

async function askPassphrase(): Promise<Pin> {
  if (!process.stdin.isTTY) {
    throw new TspError(
      "auth",
      "write-object: the key is encrypted and no pass phrase was given (use --key-pass or --key-pass-file)",
    );
  }
  return promptPin("Pass phrase");
}

/** The raw bytes of a secret key: --hex or the file, one of them. */
async function secretInput(flags: ImportFlags): Promise<Uint8Array> {
  if (flags.hex !== undefined && flags.input !== undefined) {
    throw usageError("write-object: give either --hex or -f/--input, not both");
  }
  if (flags.hex === undefined) return readInput(requiredFile(flags), "key file");
  const hex = flags.hex.replace(/[\s:]/g, "").replace(/^0x/i, "");
  if (hex === "" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw usageError("write-object: --hex takes the key's bytes in hex, such as 00a1ff...");
  }
  return new Uint8Array(Buffer.from(hex, "hex"));
}

function requiredFile(flags: ImportFlags): string {
  if (flags.input === undefined) throw usageError("write-object: -f/--input is required");
  return flags.input;
}

function checkCombination(flags: ImportFlags & { type: ImportType }): void {
  if (flags.type !== "secret" && (flags.keyType !== undefined || flags.hex !== undefined)) {
    throw usageError(`write-object: --key-type and --hex are for --type secret`);
  }
  if (flags.type === "secret") {
    if (flags.publicKey === false) throw usageError("write-object: a secret key has no public key");
    if (flags.keyPass !== undefined || flags.keyPassFile !== undefined) {
      throw usageError("write-object: a raw secret key has no pass phrase");
    }
  }
}

export async function runImportCommand(
  flags: ImportFlags & { type: ImportType },
  ctx: CommandContext,
): Promise<void> {
  checkCombination(flags);
  const { prepareImport, runImport } = await import("../core/import-key.js");
  // Read, decrypt and parse first: a bad file or pass phrase changes nothing on the token.
  const input =
    flags.type === "secret"
      ? await secretInput(flags)
      : await readInput(requiredFile(flags), "input file");
  const prepared = await prepareImport(flags.type, input, {
    passphrase: await givenPassphrase(flags),
    askPassphrase,
    secretKeyType: flags.keyType,
  });
  let written: ImportedObject[];
  {
    using scope = await ctx.openToken({ login: "required", rw: true });
    written = await runImport(
      scope,
      prepared,
      {
        id: flags.id,
        label: flags.label,
        usage: flags.usage,
        extractable: flags.extractable === true,
        publicKey: flags.publicKey !== false,
        force: flags.force === true,
      },
      {
        warn: (message) => {
          ctx.output.warn(message);
        },
      },
    );
  }
  await render(ctx, flags.type, written);
}

async function render(
  ctx: CommandContext,
  type: ImportType,
  written: ImportedObject[],
): Promise<void> {
  const [first] = written;
  if (ctx.output.json) {
    // A bundle is several objects; a key file answers with its key, as write-object does.
    ctx.output.writeJson(type === "pkcs12" ? written : first);
    return;
  }
  if (type !== "pkcs12" && first) {
    printRecord(ctx.output, [
      ["class", first.class],
      ["label", first.label],
      ["id", first.id],
      ["key type", first.keyType],
      ["bits", first.bits?.toString()],
      ["curve", first.curve],
      ["usage", first.usage?.join(",")],
      ["uri", first.uri],
    ]);
    return;
  }
  await printTable(
    ctx.output,
    [
      { header: "class", value: (o: ImportedObject) => o.class },
      { header: "label", value: (o) => o.label },
      { header: "id", value: (o) => o.id },
      { header: "what", value: (o) => o.subject ?? o.curve ?? (o.bits ? `${o.bits} bits` : "") },
    ],
    written,
  );
}
