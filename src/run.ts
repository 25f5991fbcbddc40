/**
 * One run of tsp11: parse, run one command, render any error once, and exit with the
 * contract's code. The only place that exits the process. The whole program (src/main.ts)
 * and each command's own bundle (src/one-command.ts) run through it, and differ only in the
 * program they build for the arguments.
 */
import { CommanderError } from "commander";
import type { Command } from "commander";
import { releaseAll, signalHandled } from "./cleanup.js";
import type { ErrorObject } from "./errors.js";
import { errorObject, errorObjectOf, InterruptedError, TspError } from "./errors.js";
import { writeError } from "./errno.js";
import type { StartMode } from "./launch.js";
import { STDERR, STDOUT } from "./output/stdio.js";
import { setStartMode } from "./start-mode.js";

/** The program that parses these arguments. */
export type ProgramFor = (argv: readonly string[]) => Promise<Command>;

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
  STDERR.write(`${line}\n`);
  if (verbose && !(error instanceof TspError) && error instanceof Error && error.stack) {
    STDERR.write(`${error.stack}\n`);
  }
  return rendered.exit;
}

function interrupted(): never {
  releaseAll();
  STDERR.write("\ntsp11: interrupted\n");
  process.exit(130);
}

/**
 * Ends the process once the command is done, when nothing is left that would keep it
 * running (no write, read, timer or server pending): Node's own end would first run what V8
 * queued for an idle moment (after a request, a scavenge of the young heap, 2 to 3 ms) and
 * free the heap, neither of which an ending process needs. Anything pending (batch's streams,
 * a write a full pipe holds) gets Node's own end.
 */
function endIfIdle(): void {
  // Experimental in Node's documentation (since 17.3): without it, Node's own end.
  const { getActiveResourcesInfo } = process as { getActiveResourcesInfo?: () => string[] };
  if (getActiveResourcesInfo?.().length === 0) process.exit();
}

export async function run(
  argv: string[],
  programFor: ProgramFor,
  start?: StartMode,
): Promise<void> {
  await runCommand(argv, programFor, start);
  // What Node put off to the next tick (a warning's printing) is done first.
  await new Promise<void>((resolve) => {
    process.nextTick(resolve);
  });
  endIfIdle();
}

async function runCommand(
  argv: string[],
  programFor: ProgramFor,
  start?: StartMode,
): Promise<void> {
  if (start) setStartMode(start);
  const json = argv.includes("--json");
  const verbose = argv.includes("-v") || argv.includes("--verbose");
  // The bundle is minified (less to compile at start-up); -v shows stacks in the sources.
  if (verbose) process.setSourceMapsEnabled(true);
  // A failed write to stdout (a full disk, a reader that closed the pipe) is one line and
  // exit 1, as for a file (the contract's "Files"): thrown where tsp11 writes it, or, through
  // Node's stream, arriving as an event.
  STDOUT.onStreamError((error) => {
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
    STDOUT.write((await programFor(argv)).helpInformation());
    return;
  }
  try {
    await (await programFor(argv)).parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return;
    if (error instanceof InterruptedError) interrupted();
    releaseAll();
    process.exitCode = report(error, json, verbose);
  }
}
