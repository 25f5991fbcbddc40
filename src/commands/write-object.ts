import { Command, Option } from "commander";
import type { WriteObjectResult, WriteType } from "../core/write-object.js";
import { parseHexId } from "../options.js";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";
import { readInput } from "../files.js";
import type { CommandContext } from "../context.js";
import { TspError } from "../errors.js";

const WRITE_TYPES = ["cert", "pubkey", "data"] as const;

interface WriteObjectFlags {
  type: WriteType;
  file: string;
  id?: Uint8Array;
  label?: string;
  force?: boolean;
  private?: boolean;
  chain?: boolean;
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
    .option(
      "--chain",
      "--type cert: store every certificate of a PEM file, each with its own key's id and label",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 write-object --type cert -f key-1.pem --pin 1234\n  $ tsp11 write-object --type cert -f key-1.der --id 0001 --pin 1234\n  $ tsp11 write-object --type data -f notes.txt --label notes --pin 1234",
    )
    .action(
      withContext<WriteObjectFlags>(async (flags, ctx) => {
        const { prepareObject, runWriteChain, runWriteObject } = await import("../lazy.js");
        if (flags.chain === true && flags.type !== "cert") {
          throw new TspError("usage", "write-object: --chain goes with --type cert");
        }
        // Read and parse first: a bad file is refused before any token is opened.
        const input = await readInput(flags.file, "input file");
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
              ? runWriteChain(scope, chain, options, hooks)
              : [runWriteObject(scope, prepared, options, hooks)];
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
      }),
    );
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
