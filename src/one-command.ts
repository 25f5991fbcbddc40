/**
 * The entry point of a command's own bundle (dist/commands/<name>.cjs, made by the build for
 * each of OWN_BUNDLE_COMMANDS): the root program and that one command, nothing else. The
 * launcher picks the bundle by the first argument that is a command's name; when the
 * arguments name another command after all (a global option's value spelling a command, as
 * in `-t keygen list-slots`), the whole program runs them instead.
 */
import type { Command } from "commander";
import { COMMAND_NAMES } from "./commands/names.js";
import type { StartMode } from "./launch.js";
import { addCommand, commandNamed, globalOptions, rootProgram } from "./program.js";
import { run } from "./run.js";

type Main = (argv: string[], start?: StartMode) => Promise<void>;

/** The whole program, beside this bundle in dist/ (Node's loader: a rare path). */
function wholeProgram(): { main: Main } {
  const { createRequire } = process.getBuiltinModule("node:module");
  return createRequire(import.meta.url)("../tsp11.cjs") as { main: Main };
}

/** The entry point of the bundle of the command `name`, which `define` defines. */
export function oneCommandMain(name: string, define: () => Command): Main {
  return async (argv, start) => {
    const options = globalOptions();
    if (commandNamed(argv, options, COMMAND_NAMES) !== name) {
      await wholeProgram().main(argv, start === undefined ? undefined : "node-loader");
      return;
    }
    await run(
      argv,
      () => {
        const program = rootProgram(options);
        addCommand(program, define());
        return Promise.resolve(program);
      },
      start,
    );
  };
}
