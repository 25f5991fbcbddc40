/** The whole program's entry point (dist/tsp11.cjs): any command, help, typos. */
import type { Command } from "commander";
import { COMMAND_LOADERS, COMMAND_NAMES } from "./commands/registry.js";
import type { StartMode } from "./launch.js";
import { addCommand, commandNamed, globalOptions, rootProgram } from "./program.js";
import { run } from "./run.js";

/**
 * The program for these arguments: with only the command they name when they name one (a
 * start loads that command's code alone); with every command for help, `tsp11 help` and
 * typos, so listings and suggestions stay whole.
 */
async function programFor(argv: readonly string[]): Promise<Command> {
  const options = globalOptions();
  const named = commandNamed(argv, options, COMMAND_NAMES);
  if (named === undefined) return (await import("./cli.js")).buildProgram();
  const program = rootProgram(options);
  const define = await COMMAND_LOADERS[named]();
  addCommand(program, define());
  return program;
}

export async function main(argv: string[], start?: StartMode): Promise<void> {
  await run(argv, programFor, start);
}
