import { Command, Option } from "commander";
import type { WriteObjectResult, WriteType } from "../core/write-object.js";
import { parseHexId } from "../options.js";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";
import { readInput } from "../files.js";
import { usageError } from "../errors.js";
import { importKeyOptions, refuseKeyOptions, runImportCommand } from "./write-object-keys.js";
import type { ImportFlags } from "./write-object-keys.js";

const WRITE_TYPES = ["cert", "pubkey", "data"] as const;
/** The key types (src/core/import-key.ts), dispatched to write-object-keys.ts. */
const IMPORT_TYPES = ["privkey", "pkcs12", "secret"] as const;

interface WriteObjectFlags extends ImportFlags {
  type: WriteType | (typeof IMPORT_TYPES)[number];
  file?: string;
  id?: Uint8Array;
  label?: string;
  force?: boolean;
  private?: boolean;
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
    .option("-f, --file <path>", "input file, PEM or DER (- for stdin)")
    .option(
      "--id <hex>",
      "CKA_ID (default: a certificate takes its key's id, a public key the SHA-1 of its value)",
      parseHexId,
    )
    .option("--label <label>", "CKA_LABEL (default: the label of the matching key)")
    .option("--force", "replace an object of the same class and id; store a mismatched certificate")
    .option("--private", "make the object private (readable only after login)");
  return importKeyOptions(command)
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 write-object --type cert -f key-1.pem --pin 1234\n  $ tsp11 write-object --type cert -f key-1.der --id 0001 --pin 1234\n  $ tsp11 write-object --type data -f notes.txt --label notes --pin 1234\n  $ tsp11 write-object --type privkey -f key.pem --label key-2 --pin 1234\n  $ tsp11 write-object --type pkcs12 -f bundle.p12 --key-pass-file pass.txt --pin 1234\n  $ tsp11 write-object --type secret --key-type aes --hex 000102030405060708090a0b0c0d0e0f --label aes-1 --pin 1234",
    )
    .action(
      withContext<WriteObjectFlags>(async (flags, ctx) => {
        if (flags.type === "privkey" || flags.type === "pkcs12" || flags.type === "secret") {
          await runImportCommand({ ...flags, type: flags.type }, ctx);
          return;
        }
        refuseKeyOptions(flags, flags.type);
        const { prepareObject, runWriteObject } = await import("../lazy.js");
        // Read and parse first: a bad file is refused before any token is opened.
        const input = await readInput(requireFile(flags.file), "input file");
        const prepared = prepareObject(flags.type, input);
        let result: WriteObjectResult;
        {
          using scope = await ctx.openToken({ login: "required", rw: true });
          result = await runWriteObject(
            scope,
            prepared,
            {
              id: flags.id,
              label: flags.label,
              force: flags.force === true,
              private: flags.private === true,
            },
            {
              warn: (message) => {
                ctx.output.warn(message);
              },
            },
          );
        }
        if (ctx.output.json) {
          ctx.output.writeJson(result);
          return;
        }
        printRecord(ctx.output, [
          ["class", result.class],
          ["label", result.label],
          ["id", result.id],
          ["subject", result.subject],
          ["issuer", result.issuer],
          ["serial", result.serial],
          ["uri", result.uri],
        ]);
      }),
    );
}

function requireFile(file: string | undefined): string {
  if (file === undefined) throw usageError("write-object: -f/--file is required");
  return file;
}
