/** Glue every command file uses: building the context from commander's parsed options. */
import type { Command } from "commander";
import { CommandContext } from "../context.js";
import type { GlobalOptions } from "../context.js";
import { Output } from "../output/io.js";
import { resolveAliases } from "./vocabulary.js";

type Handler<O> = (options: O, ctx: CommandContext, args: string[]) => Promise<void> | void;

/**
 * Wraps a command's handler so it receives its own options (old spellings moved onto the
 * shared names) and a context of the globals.
 */
export function withContext<O>(handler: Handler<O>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    resolveAliases(command);
    const globals = command.optsWithGlobals<GlobalOptions>();
    const output = await Output.create({
      json: globals.json === true,
      color: globals.color !== false,
      quiet: globals.quiet === true,
      verbose: globals.verbose === true,
    });
    const ctx = new CommandContext(globals, output, (name) =>
      command.getOptionValueSourceWithGlobals(name),
    );
    try {
      await handler(command.opts() as O, ctx, command.args);
    } catch (error) {
      throw ctx.explain(error);
    }
  };
}
