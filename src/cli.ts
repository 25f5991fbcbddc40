/**
 * The whole program: the global options and every command, for help, `tsp11 help`, typos
 * (suggestions need every name) and the completion scripts. A run of one named command
 * takes the shorter way in src/main.ts. The commands come from the registry, in its order.
 */
import type { Command } from "commander";
import { COMMAND_LOADERS, COMMAND_NAMES } from "./commands/registry.js";
import { addCommand, rootProgram } from "./program.js";

/** The program with every command. */
export async function buildProgram(): Promise<Command> {
  const definitions = await Promise.all(COMMAND_NAMES.map((name) => COMMAND_LOADERS[name]()));
  const program = rootProgram();
  for (const define of definitions) addCommand(program, define());
  return program;
}
