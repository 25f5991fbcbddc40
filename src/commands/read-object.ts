import { Command, Option } from "commander";
import type { ReadObjectResult, ReadType } from "../core/read-object.js";
import { parseHexId } from "../options.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";
import { TspError } from "../errors.js";
import type { UriObjectType } from "../pkcs11/uri.js";
import { keySelectorOf } from "../core/find-key.js";
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

/** What the URI's type= reads, when --type is not given. */
const READ_TYPE_OF_URI: Readonly<Partial<Record<UriObjectType, ReadType>>> = {
  cert: "cert",
  public: "pubkey",
  data: "data",
};

/**
 * --type, or what the URI's type= names. `--type pubkey` with `type=private` reads that private
 * key's public half; any other disagreement is a conflict (exit 2).
 */
export function readTypeOf(
  type: ReadType | undefined,
  uriType: UriObjectType | undefined,
): ReadType {
  if (type === "pubkey" && uriType === "private") return type;
  const implied = uriType === undefined ? undefined : READ_TYPE_OF_URI[uriType];
  if (type !== undefined && uriType !== undefined && implied !== type) {
    throw new TspError(
      "usage",
      `conflicting selectors: --type ${type} and the URI's type=${uriType}`,
    );
  }
  if (type !== undefined) return type;
  if (implied !== undefined) return implied;
  if (uriType === "private") {
    throw new TspError(
      "usage",
      "read-object: the URI names a private key, which is never exported; add --type pubkey to read its public half",
    );
  }
  if (uriType === "secret-key") {
    throw new TspError(
      "usage",
      "read-object: the URI names a secret key; read-object reads cert, pubkey or data",
    );
  }
  throw new TspError(
    "usage",
    "read-object: missing --type (cert, pubkey or data) or a URI with type=",
  );
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
    .option("--der", "DER instead of PEM")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 read-object --type cert --id 0001 | openssl x509 -noout -subject\n  $ tsp11 read-object --type pubkey --label key-1 --der -o key-1.spki\n  $ tsp11 read-object --type privkey --label test-key --pin 1234 -o test-key.pem",
    )
    .action(
      withContext<ReadObjectFlags>(async (flags, ctx) => {
        const { runReadObject } = await import("../lazy.js");
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
          const { bytes, ...rest } = read;
          ctx.output.writeJson({
            ...rest,
            secret: undefined, // how the file was written, not part of the JSON
            ...(read.pem === undefined
              ? { valueBase64: Buffer.from(bytes).toString("base64") }
              : {}),
          });
          return;
        }
        if (out !== undefined) return;
        if (typeof body === "string") ctx.output.write(body);
        else ctx.output.writeBytes(body);
      }),
    );
}
