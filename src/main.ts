/**
 * Entry point: parse, run one command, render any error once, and exit with the contract's
 * code. The only place that exits the process.
 */
import { CommanderError } from "commander";
import { releaseAll, signalHandled } from "./cleanup.js";
import type { Command } from "commander";
import { COMMAND_LOADERS, COMMAND_NAMES } from "./commands/registry.js";
import type { ErrorObject } from "./errors.js";
import { errorObject, errorObjectOf, InterruptedError, TspError } from "./errors.js";
import { writeError } from "./files.js";
import type { StartMode } from "./launch.js";
import { setStartMode } from "./start-mode.js";
import { addCommand, commandNamed, globalOptions, rootProgram } from "./program.js";

/** The build's code-cache step records them (src/launch.ts picks a cache by them). */
export { COMMAND_NAMES };

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

function classify(error: unknown): ErrorObject {
  if (error instanceof TspError) return errorObjectOf(error);
  if (error instanceof CommanderError) {
    const message = error.message.replace(/^error: /, "");
    return errorObject("usage", `${message} (see tsp11 --help)`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return errorObject("failure", `unexpected error: ${message}`);
}

function report(error: unknown, json: boolean, verbose: boolean): number {
  const rendered = classify(error);
  const line = json
    ? JSON.stringify({ error: rendered })
    : `tsp11: ${rendered.message.replace(/\s*\n\s*/g, " ")}`;
  process.stderr.write(`${line}\n`);
  if (verbose && !(error instanceof TspError) && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  return rendered.exit;
}

function interrupted(): never {
  releaseAll();
  process.stderr.write("\ntsp11: interrupted\n");
  process.exit(130);
}

export async function main(argv: string[], start?: StartMode): Promise<void> {
  if (start) setStartMode(start);
  // The bundle is minified (less to compile at start-up); -v shows stacks in the sources.
  if (argv.includes("-v") || argv.includes("--verbose")) process.setSourceMapsEnabled(true);
  const json = argv.includes("--json");
  const verbose = argv.includes("-v") || argv.includes("--verbose");
  // A failed write to stdout (a full disk, a reader that closed the pipe) arrives as an
  // event: one line and exit 1, as for a file (the contract's "Files").
  process.stdout.on("error", (error) => {
    releaseAll();
    process.exit(report(writeError("stdout", error), json, verbose));
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!signalHandled(signal)) interrupted();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Bare `tsp11`: the help, on stdout, and success (as gh and git do).
  if (argv.length === 0) {
    process.stdout.write((await programFor(argv)).helpInformation());
    return;
  }
  try {
    await (await programFor(argv)).parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return;
    if (error instanceof InterruptedError) interrupted();
    releaseAll();
    process.exitCode = report(
      error,
      argv.includes("--json"),
      argv.includes("-v") || argv.includes("--verbose"),
    );
  }
}
