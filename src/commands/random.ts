import { Command, Option } from "commander";
import type { RandomJson } from "../core/random.js";
import { parseRandomLength, runRandom } from "../core/random.js";
import { writeOutput } from "../files.js";
import type { TextEncoding } from "./sign-common.js";
import { encodeSignature } from "./sign-common.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";

interface RandomFlags {
  encoding?: TextEncoding;
  output?: string;
}

export function randomCommand(): Command {
  return new Command("random")
    .description("Random bytes from the token's generator (C_GenerateRandom, up to 1 MiB)")
    .argument("<bytes>", "how many bytes (1..1048576)")
    .addOption(
      new Option("--encoding <enc>", "write base64 or hex text (default: binary)").choices([
        "base64",
        "hex",
      ]),
    )
    .addOption(sharedOption("output", "write the bytes here (default: stdout)"))
    .addOption(oldSpelling("output"))
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ tsp11 random 32 --encoding hex",
        "  $ tsp11 random 1024 --output seed.bin",
      ].join("\n"),
    )
    .action(
      withContext<RandomFlags>(async (flags, ctx, args) => {
        const length = parseRandomLength(args[0] ?? "");
        let bytes: Buffer;
        {
          using scope = await ctx.openToken({ login: "if-pin", rw: false });
          bytes = runRandom(scope.session, length);
        }
        const encoded = encodeSignature(bytes, flags.encoding);
        const output =
          flags.output !== undefined && flags.output !== "-" ? flags.output : undefined;
        if (output !== undefined)
          await writeOutput(output, encoded, "random bytes", { secret: true });
        if (ctx.output.json) {
          const result: RandomJson = {
            length,
            randomBase64: bytes.toString("base64"),
            ...(output !== undefined ? { output } : {}),
          };
          ctx.output.writeJson(result);
        } else if (output === undefined) {
          ctx.output.writeBytes(encoded);
        }
      }),
    );
}
