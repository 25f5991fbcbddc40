import { Command, Option } from "commander";
import type { DigestJson, HashName } from "../core/digest.js";
import { DIGEST_NAMES, digestStream, parseDigestName } from "../core/digest.js";
import { writeOutput } from "../files.js";
import type { TextEncoding } from "./sign-common.js";
import {
  checkInputFile,
  chunkBuffer,
  encodeSignature,
  readFileOrChunks,
  stdinChunks,
} from "./sign-common.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";

interface DigestFlags {
  mechanism: HashName;
  input?: string;
  output?: string;
  encoding?: TextEncoding;
}

export function digestCommand(): Command {
  return new Command("digest")
    .description("Hash data on the token (C_DigestUpdate, streamed: any input size)")
    .option("-m, --mechanism <hash>", DIGEST_NAMES.join(", "), parseDigestName, "sha256")
    .addOption(sharedOption("input", "the data (default: stdin)"))
    .addOption(oldSpelling("input"))
    .addOption(sharedOption("output", "write the digest here (default: stdout)"))
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
        "  $ tsp11 digest --input image.bin --encoding hex",
        "  $ tsp11 digest -m sha512 < data.tar > data.sha512",
      ].join("\n"),
    )
    .action(
      withContext<DigestFlags>(async (flags, ctx) => {
        const inputPath = flags.input ?? "-";
        checkInputFile(inputPath);
        const buffer = chunkBuffer();
        let digest: Buffer;
        {
          using scope = await ctx.openToken({ login: "if-pin", rw: false });
          if (inputPath === "-") {
            digest = await digestStream(scope.session, flags.mechanism, stdinChunks(buffer));
          } else {
            const input = readFileOrChunks(inputPath, buffer);
            try {
              digest = await digestStream(
                scope.session,
                flags.mechanism,
                input.whole ? [input.whole] : input.chunks,
              );
            } finally {
              input.close();
            }
          }
        }
        const encoded = encodeSignature(digest, flags.encoding);
        const output =
          flags.output !== undefined && flags.output !== "-" ? flags.output : undefined;
        if (output !== undefined) await writeOutput(output, encoded, "digest");
        if (ctx.output.json) {
          const result: DigestJson = {
            mechanism: flags.mechanism,
            digestHex: digest.toString("hex"),
            ...(output !== undefined ? { output } : {}),
          };
          ctx.output.writeJson(result);
        } else if (output === undefined) {
          ctx.output.writeBytes(encoded);
        }
      }),
    );
}
