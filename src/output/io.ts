/**
 * Streams, TTY detection and colour, decided once. stdout carries only the result;
 * prompts, progress, warnings, traces and errors go to stderr.
 */
import type { ChalkInstance } from "chalk";
import type { Writer } from "./stdio.js";
import { STDERR, STDOUT } from "./stdio.js";

export interface OutputSettings {
  json: boolean;
  color: boolean;
  quiet: boolean;
  verbose: boolean;
}

export interface Streams {
  stdout: Writer;
  stderr: Writer;
}

const STDIO: Streams = { stdout: STDOUT, stderr: STDERR };

/** Colour only on a TTY, never under --no-color or a non-empty NO_COLOR (chalk ignores it). */
function colorLevel(settings: OutputSettings, stdoutTTY: boolean): 0 | 1 | 2 | 3 {
  if (!settings.color || settings.json || !stdoutTTY) return 0;
  if (process.env.NO_COLOR) return 0;
  return 1;
}

/** The colours tsp11 uses; plain text when colour is off (chalk is then never loaded). */
export type Painter = Pick<ChalkInstance, "bold" | "red" | "green" | "yellow" | "dim">;

const same = (text: string): string => text;
const PLAIN: Painter = {
  bold: same,
  red: same,
  green: same,
  yellow: same,
  dim: same,
} as unknown as Painter;

export class Output {
  readonly settings: OutputSettings;
  readonly streams: Streams;
  readonly color: Painter;
  readonly stdoutTTY: boolean;
  readonly stderrTTY: boolean;

  private constructor(settings: OutputSettings, streams: Streams, color: Painter) {
    this.settings = settings;
    this.streams = streams;
    this.stdoutTTY = streams.stdout.isTTY === true;
    this.stderrTTY = streams.stderr.isTTY === true;
    this.color = color;
  }

  static async create(settings: OutputSettings, streams: Streams = STDIO): Promise<Output> {
    const level = colorLevel(settings, streams.stdout.isTTY === true);
    if (level === 0) return new Output(settings, streams, PLAIN);
    const { Chalk } = await import("chalk");
    return new Output(settings, streams, new Chalk({ level }));
  }

  /** The terminal's width (80 when it does not say, as for a pseudo-terminal of size 0). */
  get columns(): number {
    const columns = this.streams.stdout.columns;
    return columns !== undefined && columns > 0 ? columns : 80;
  }

  get json(): boolean {
    return this.settings.json;
  }

  /** The one JSON document of a --json run. */
  writeJson(value: unknown): void {
    this.streams.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /**
   * A --json array written as its items come, byte for byte what writeJson writes for them
   * all: memory holds one item's text and a chunk of output, not the whole document.
   */
  async writeJsonArray(items: AsyncIterable<unknown>): Promise<void> {
    const out = new ChunkedWriter(this);
    let first = true;
    for await (const item of items) {
      // One level in: every line of the item two spaces in (JSON strings hold no newline).
      out.add(`${first ? "[\n" : ",\n"}  ${JSON.stringify(item, null, 2).replace(/\n/g, "\n  ")}`);
      first = false;
    }
    out.add(first ? "[]\n" : "\n]\n");
    out.flush();
  }

  write(text: string): void {
    this.streams.stdout.write(text);
  }

  writeBytes(bytes: Uint8Array): void {
    this.streams.stdout.write(bytes);
  }

  /** Warnings go to stderr; -q means errors only. */
  warn(message: string): void {
    if (!this.settings.quiet) this.streams.stderr.write(`tsp11: warning: ${message}\n`);
  }

  info(message: string): void {
    if (!this.settings.quiet && !this.settings.json) this.streams.stderr.write(`${message}\n`);
  }

  trace(line: string): void {
    if (this.settings.verbose) this.streams.stderr.write(`tsp11: trace: ${line}\n`);
  }

  error(line: string): void {
    this.streams.stderr.write(`${line}\n`);
  }
}

/** Output gathered into writes of about 64 KiB: a write per row would cost a system call each. */
export class ChunkedWriter {
  readonly #output: Output;
  #pending: string[] = [];
  #size = 0;

  constructor(output: Output) {
    this.#output = output;
  }

  add(text: string): void {
    this.#pending.push(text);
    this.#size += text.length;
    if (this.#size >= 65536) this.flush();
  }

  flush(): void {
    if (this.#pending.length > 0) this.#output.write(this.#pending.join(""));
    this.#pending = [];
    this.#size = 0;
  }
}
