import { Command, Option } from "commander";
import type { ReadObjectResult, ReadType } from "../core/read-object.js";
import { parseHexId } from "../options.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";
import { keySelectorOf } from "../core/find-key.js";
import { readTypeOf } from "../core/object-filter.js";
import { isStdout, writeOutput } from "../files.js";

const READ_TYPES = ["cert", "pubkey", "data", "secret", "privkey"] as const;

/** Values that are secret or private: a new output file gets mode 0600. */
const SECRET_TYPES: readonly ReadType[] = ["secret", "privkey"];

interface ReadObjectFlags {
  type?: ReadType;
  id?: Uint8Array;
  label?: string;
  output?: string;
  der?: boolean;
}

export function readObjectCommand(): Command {
  return new Command("read-object")
    .description(
      "Export a certificate or public key (PEM or DER), a data object's value, or an extractable key",
    )
    .addOption(
      new Option("--type <type>", "what to read (default: the URI's type=)").choices(READ_TYPES),
    )
    .option("--id <hex>", "the object's CKA_ID", parseHexId)
    .option("--label <label>", "the object's CKA_LABEL")
    .addOption(sharedOption("output", "write to a file instead of stdout"))
    .addOption(oldSpelling("output"))
    .option("--der", "DER instead of PEM (with --json: base64 in valueBase64)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 read-object --type cert --id 0001 | openssl x509 -noout -subject\n  $ tsp11 read-object --type pubkey --label key-1 --der -o key-1.spki\n  $ tsp11 read-object --type privkey --label test-key --pin 1234 -o test-key.pem",
    )
    .action(
      withContext<ReadObjectFlags>(async (flags, ctx) => {
        const { readObjectJson, runReadObject } = await import("../core/read-object.js");
        const type = readTypeOf(flags.type, ctx.uri?.type);
        flags.type = type;
        const selector = keySelectorOf(flags.label, flags.id, ctx.uri, "--label");
        let read: ReadObjectResult;
        {
          using scope = await ctx.openToken({ login: "if-pin", rw: false });
          read = runReadObject(scope, type, selector);
        }
        const body: string | Uint8Array =
          read.pem !== undefined && flags.der !== true ? read.pem : read.bytes;
        const out = isStdout(flags.output) ? undefined : flags.output;
        // A private data object's value or a key's is a secret: a new file for it is 0600.
        if (out !== undefined) {
          await writeOutput(out, body, type, {
            secret: read.secret === true || SECRET_TYPES.includes(type),
          });
        }
        if (ctx.output.json) {
          ctx.output.writeJson(readObjectJson(read, flags.der === true ? "der" : "pem"));
          return;
        }
        if (out !== undefined) return;
        if (typeof body === "string") ctx.output.write(body);
        else ctx.output.writeBytes(body);
      }),
    );
}
