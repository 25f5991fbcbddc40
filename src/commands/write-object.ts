import { Command, Option } from "commander";
import type { WriteObjectResult, WriteType } from "../core/write-object.js";
import { parseHexId } from "../options.js";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";
import { readInput } from "../files.js";

const WRITE_TYPES = ["cert", "pubkey", "data"] as const;

interface WriteObjectFlags {
  type: WriteType;
  file: string;
  id?: Uint8Array;
  label?: string;
  force?: boolean;
  private?: boolean;
}

export function writeObjectCommand(): Command {
  return new Command("write-object")
    .description("Store a certificate, public key or data object on the token")
    .addOption(
      new Option("--type <type>", "what the file holds").choices(WRITE_TYPES).makeOptionMandatory(),
    )
    .requiredOption("-f, --file <path>", "input file, PEM or DER (- for stdin)")
    .option(
      "--id <hex>",
      "CKA_ID (default: a certificate takes its key's id, a public key the SHA-1 of its value)",
      parseHexId,
    )
    .option("--label <label>", "CKA_LABEL (default: the label of the matching key)")
    .option("--force", "replace an object of the same class and id; store a mismatched certificate")
    .option("--private", "make the object private (readable only after login)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 write-object --type cert -f key-1.pem --pin 1234\n  $ tsp11 write-object --type cert -f key-1.der --id 0001 --pin 1234\n  $ tsp11 write-object --type data -f notes.txt --label notes --pin 1234",
    )
    .action(
      withContext<WriteObjectFlags>(async (flags, ctx) => {
        const { prepareObject, runWriteObject } = await import("../lazy.js");
        // Read and parse first: a bad file is refused before any token is opened.
        const input = await readInput(flags.file, "input file");
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
