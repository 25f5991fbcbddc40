import { Command, Option } from "commander";
import { keySelectorOf } from "../core/find-key.js";
import type { WrapJson, WrapName } from "../core/wrap.js";
import { parseWrapName, runWrap, WRAP_NAMES } from "../core/wrap.js";
import type { HashName } from "../pkcs11/cipher.js";
import { parseOaepHash } from "../core/encrypt.js";
import { writeOutput } from "../files.js";
import { parseHexId } from "../options.js";
import type { TextEncoding } from "./sign-common.js";
import { encodeSignature } from "./sign-common.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";

interface WrapFlags {
  wrappingKey?: string;
  wrappingId?: Uint8Array;
  key?: string;
  id?: Uint8Array;
  mechanism?: WrapName;
  hash?: HashName;
  output?: string;
  encoding?: TextEncoding;
}

export function wrapCommand(): Command {
  return new Command("wrap")
    .description("Export a key encrypted under a wrapping key on the token (C_WrapKey)")
    .option("--wrapping-key <label>", "the wrapping key's CKA_LABEL (AES secret or RSA public key)")
    .option("--wrapping-id <hex>", "the wrapping key's CKA_ID", parseHexId)
    .addOption(sharedOption("key", "the CKA_LABEL of the key to export"))
    .addOption(oldSpelling("key"))
    .option("--id <hex>", "the CKA_ID of the key to export", parseHexId)
    .option(
      "-m, --mechanism <mech>",
      `${WRAP_NAMES.join(", ")} (default: AES-KEY-WRAP-PAD, or RSA-PKCS-OAEP for an RSA wrapping key)`,
      parseWrapName,
    )
    .option("--hash <alg>", "RSA-PKCS-OAEP's hash (default sha256)", parseOaepHash)
    .addOption(sharedOption("output", "write the wrapped key here (default: stdout)"))
    .addOption(oldSpelling("output"))
    .addOption(
      new Option("--encoding <enc>", "write base64 or hex text (default: binary)").choices([
        "base64",
        "hex",
      ]),
    )
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ tsp11 wrap --wrapping-key transport -k signer --pin 1234 --output signer.wrapped",
        "  $ tsp11 wrap --wrapping-key rsa-transport --hash sha1 -k aes-key --encoding base64",
      ].join("\n"),
    )
    .action(
      withContext<WrapFlags>(async (flags, ctx) => {
        const wrapping = keySelectorOf(
          flags.wrappingKey,
          flags.wrappingId,
          undefined,
          "--wrapping-key",
        );
        const target = keySelectorOf(flags.key, flags.id, ctx.uri);
        let result: ReturnType<typeof runWrap>;
        {
          using scope = await ctx.openToken({ login: "required", rw: false });
          result = runWrap(scope.session, wrapping, target, {
            mechanism: flags.mechanism,
            hash: flags.hash,
          });
        }
        const encoded = encodeSignature(result.wrapped, flags.encoding);
        const output =
          flags.output !== undefined && flags.output !== "-" ? flags.output : undefined;
        if (output !== undefined) await writeOutput(output, encoded, "wrapped key");
        if (ctx.output.json) {
          const json: WrapJson = { ...result.json, ...(output !== undefined ? { output } : {}) };
          ctx.output.writeJson(json);
        } else if (output === undefined) {
          ctx.output.writeBytes(encoded);
        }
      }),
    );
}
