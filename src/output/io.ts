/**
 * Streams, TTY detection and colour, decided once. stdout carries only the result;
 * prompts, progress, warnings, traces and errors go to stderr.
 */
import type { ChalkInstance } from "chalk";

export interface OutputSettings {
  json: boolean;
  color: boolean;
  quiet: boolean;
  verbose: boolean;
}

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

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

  static async create(settings: OutputSettings, streams: Streams = process): Promise<Output> {
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
