import { Command, Option } from "commander";
import type { CommandContext } from "../context.js";
import type { WriteObjectResult, WriteType } from "../core/write-object.js";
import { TspError, usageError } from "../errors.js";
import { readInput } from "../files.js";
import { parseHexId } from "../options.js";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";
import { importKeyOptions, refuseKeyOptions, runImportCommand } from "./write-object-keys.js";
import type { ImportFlags } from "./write-object-keys.js";

const WRITE_TYPES = ["cert", "pubkey", "data"] as const;
/** The key types (src/core/import-key.ts), dispatched to write-object-keys.ts. */
const IMPORT_TYPES = ["privkey", "pkcs12", "secret"] as const;

interface WriteObjectFlags extends ImportFlags {
  type: WriteType | (typeof IMPORT_TYPES)[number];
  id?: Uint8Array;
  label?: string;
  force?: boolean;
  private?: boolean;
  chain?: boolean;
}

export function writeObjectCommand(): Command {
  const command = new Command("write-object")
    .description(
      "Store a certificate, public key, data object, private key, PKCS#12 bundle or secret key on the token",
    )
    .addOption(
      new Option("--type <type>", "what the file holds")
        .choices([...WRITE_TYPES, ...IMPORT_TYPES])
        .makeOptionMandatory(),
    )
    .addOption(
      sharedOption("input", "input file, PEM or DER (- for stdin)", "-f, --input <file|->"),
    )
    .addOption(oldSpelling("input", "--file <file|->"))
    .option(
      "--id <hex>",
      "CKA_ID (default: a certificate takes its key's id, a public key the SHA-1 of its value)",
      parseHexId,
    )
    .option("--label <label>", "CKA_LABEL (default: the label of the matching key)")
    .option("--force", "replace an object of the same class and id; store a mismatched certificate")
    .option("--private", "make the object private (readable only after login)")
    .option(
      "--chain",
      "--type cert: store every certificate of a PEM file, each with its own key's id and label",
    );
  return importKeyOptions(command)
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 write-object --type cert -f key-1.pem --pin 1234\n  $ tsp11 write-object --type cert -f ca.der --label ca --pin 1234\n  $ tsp11 write-object --type data -f notes.txt --label notes --pin 1234\n  $ tsp11 write-object --type privkey -f key.pem --label key-2 --pin 1234\n  $ tsp11 write-object --type pkcs12 -f bundle.p12 --key-pass-file pass.txt --pin 1234\n  $ tsp11 write-object --type secret --key-type aes --hex 000102030405060708090a0b0c0d0e0f --label aes-1 --pin 1234",
    )
    .action(
      withContext<WriteObjectFlags>(async (flags, ctx) => {
        if (flags.type === "privkey" || flags.type === "pkcs12" || flags.type === "secret") {
          if (flags.chain === true) throw usageError("write-object: --chain goes with --type cert");
          await runImportCommand({ ...flags, type: flags.type }, ctx);
          return;
        }
        refuseKeyOptions(flags, flags.type);
        await writeObjects({ ...flags, type: flags.type }, ctx);
      }),
    );
}

/** Certificates (one, or a chain), public keys and data objects. */
async function writeObjects(
  flags: WriteObjectFlags & { type: WriteType },
  ctx: CommandContext,
): Promise<void> {
  const { prepareObject, runWriteChain, runWriteObject } = await import("../core/write-object.js");
  if (flags.chain === true && flags.type !== "cert") {
    throw new TspError("usage", "write-object: --chain goes with --type cert");
  }
  // Read and parse first: a bad file is refused before any token is opened.
  const input = await readInput(requireFile(flags.input), "input file");
  const prepared = prepareObject(flags.type, input);
  const options = {
    id: flags.id,
    label: flags.label,
    force: flags.force === true,
    private: flags.private === true,
  };
  const hooks = {
    warn: (message: string) => {
      ctx.output.warn(message);
    },
  };
  const chain = prepared.type === "cert" ? prepared.chain : [];
  if (flags.chain !== true && chain.length > 1) {
    const skipped = chain.length - 1;
    hooks.warn(
      `the file holds ${chain.length} certificates: only the first is stored, ${skipped} skipped (--chain stores them all)`,
    );
  }
  let results: WriteObjectResult[];
  {
    using scope = await ctx.openToken({ login: "required", rw: true });
    results =
      flags.chain === true
        ? await runWriteChain(scope, chain, options, hooks)
        : [await runWriteObject(scope, prepared, options, hooks)];
  }
  if (ctx.output.json) {
    // --chain prints an array, one result per certificate; otherwise the one object.
    ctx.output.writeJson(flags.chain === true ? results : results[0]);
    return;
  }
  results.forEach((result, k) => {
    if (k > 0) ctx.output.write("\n");
    printResult(ctx, result);
  });
}

function requireFile(file: string | undefined): string {
  if (file === undefined) throw usageError("write-object: -f/--input is required");
  return file;
}

function printResult(ctx: CommandContext, result: WriteObjectResult): void {
  printRecord(ctx.output, [
    ["class", result.class],
    ["label", result.label],
    ["id", result.id],
    ["subject", result.subject],
    ["issuer", result.issuer],
    ["serial", result.serial],
    ["uri", result.uri],
  ]);
}
