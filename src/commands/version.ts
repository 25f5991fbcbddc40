import { Command } from "commander";
import { startMode } from "../start-mode.js";
import { VERSION } from "../version.js";
import { withContext } from "./shared.js";

const START_WORDS = {
  "code-cache": "started from its code cache",
  "node-compile-cache": "started through Node.js's compile cache",
  compiled: "compiled at start: no code cache for this Node.js (npm run build makes one)",
  "node-loader": "loaded by Node.js",
} as const;

/** `tsp11 version`, as gh has it: the same as --version, with --json for scripts. */
export function versionCommand(): Command {
  return new Command("version")
    .description("Show tsp11's version (and the Node.js it runs on)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 version\n  $ tsp11 version --json | jq -r .version",
    )
    .action(
      withContext<Record<string, never>>((_flags, ctx) => {
        if (ctx.output.json) {
          ctx.output.writeJson({
            version: VERSION,
            node: process.versions.node,
            start: startMode(),
          });
          return;
        }
        ctx.output.write(
          `tsp11 ${VERSION} (Node.js ${process.versions.node}, ${START_WORDS[startMode()]})\n`,
        );
      }),
    );
}
