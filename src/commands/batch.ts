import { once } from "node:events";
import { Command } from "commander";
import { favourMemoryOverSpeed } from "../memory.js";
import { STDOUT } from "../output/stdio.js";
import { withContext } from "./shared.js";

interface BatchFlags {
  continueOnError?: boolean;
}

/** Waits when the pipe is full: a slow reader downstream holds the batch, not memory. */
async function writeLine(stream: NodeJS.WritableStream, line: string): Promise<void> {
  if (!stream.write(line)) await once(stream, "drain");
}

export function batchCommand(): Command {
  return new Command("batch")
    .description("Run operations read as NDJSON from stdin on one session, one result line each")
    .option("--continue-on-error", "run every line; exit with the highest exit code seen")
    .addHelpText(
      "after",
      '\nEach line: {"op": "<subcommand>", "args": {...}} with the serve API\'s JSON arguments.\nOps: keygen, req, write-object, list-objects, list-slots, sign, read-object, delete-object,\nedit-object, verify, cert, encrypt, decrypt, wrap, unwrap, derive (not change-pin, init-token).\n\nExamples:\n  $ echo \'{"op":"keygen","args":{"keyType":"ec:prime256v1","label":"dev-1"}}\' | tsp11 batch --pin 1234\n  $ jq -c \'{op:"req",args:{key:.,subject:"/CN=\\(.)"}}\' <<<\'"dev-1"\' | tsp11 batch --pin 1234 | jq -r .result.pem',
    )
    .action(
      withContext<BatchFlags>(async (flags, ctx) => {
        favourMemoryOverSpeed();
        const { ndjsonLines, runBatch } = await import("../batch/run.js");
        // One module load, one session and one login for every line.
        using scope = await ctx.openToken({ login: "required", rw: true });
        const warn = (message: string): void => {
          ctx.output.warn(message);
        };
        const stdout = STDOUT.stream();
        process.exitCode = await runBatch(
          ndjsonLines(process.stdin),
          (line) => writeLine(stdout, line),
          {
            run: async (_operation, prepared) => {
              try {
                return await prepared({ scope, authenticated: true, warn });
              } catch (error) {
                throw ctx.explain(error);
              }
            },
          },
          { continueOnError: flags.continueOnError === true },
        );
      }),
    );
}
