/**
 * Standard output and standard error, written without Node's stream objects until one is
 * needed. Making process.stdout loads net and stream: 4 to 5 ms for a pipe and 2.5 for a file,
 * on this project's machine more than a short command's own work. So a pipe, socket, file or
 * memory device (/dev/null, /dev/full; never a terminal) is written with write(2) as tsp11
 * goes; another device goes through Node's stream, and so does everything once the stream
 * exists (a prompt, batch, a write that would block on a non-blocking pipe), so bytes never
 * change order.
 */
import type { Stats } from "node:fs";
import { fstatSync, writeSync } from "node:fs";
import { writeError } from "../errno.js";

/** What tsp11 writes to: standard output or error, or a test's stand-in. */
export interface Writer {
  write(data: string | Uint8Array): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

type StreamError = (error: Error) => void;

export class StdioWriter implements Writer {
  readonly #fd: number;
  readonly #name: "stdout" | "stderr";
  readonly #makeStream: () => NodeJS.WriteStream;
  #stream: NodeJS.WriteStream | undefined;
  #direct: boolean | undefined;
  #onStreamError: StreamError | undefined;

  /** `makeStream` gives Node's stream for the descriptor (process.stdout or process.stderr). */
  constructor(fd: number, name: "stdout" | "stderr", makeStream: () => NodeJS.WriteStream) {
    this.#fd = fd;
    this.#name = name;
    this.#makeStream = makeStream;
  }

  /** Where a failed write through Node's stream goes: its errors arrive as events. */
  onStreamError(handler: StreamError): void {
    this.#onStreamError = handler;
    this.#stream?.on("error", handler);
  }

  get isTTY(): boolean {
    return !this.#isDirect() && this.stream().isTTY;
  }

  get columns(): number | undefined {
    return this.#isDirect() ? undefined : this.stream().columns;
  }

  /**
   * Writes `data`; the caller may reuse its buffer once this returns (the stream gets a copy:
   * it may hold on to what it is given until the reader takes it). A failed write of standard
   * output throws `write stdout: <why>` (exit 1); one of standard error is dropped, as there is
   * nowhere left to say it.
   */
  write(data: string | Uint8Array): boolean {
    if (!this.#isDirect()) return this.stream().write(copyOf(data));
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let offset = 0;
    try {
      while (offset < bytes.length) offset += writeSync(this.#fd, bytes, offset);
      return true;
    } catch (error) {
      // A non-blocking pipe that is full: Node's stream waits for the reader.
      if ((error as NodeJS.ErrnoException).code === "EAGAIN") {
        return this.stream().write(copyOf(bytes.subarray(offset)));
      }
      if (this.#name === "stderr") return false;
      throw writeError(this.#name, error);
    }
  }

  /** Node's stream for the descriptor, made on first use; every later write goes through it. */
  stream(): NodeJS.WriteStream {
    if (this.#stream === undefined) {
      this.#stream = this.#makeStream();
      if (this.#onStreamError) this.#stream.on("error", this.#onStreamError);
      // A failed write of stderr is dropped here too: unhandled, it would end the run with
      // exit 1 in place of the contract's code.
      if (this.#name === "stderr") this.#stream.on("error", () => undefined);
    }
    this.#direct = false;
    return this.#stream;
  }

  /** Whether writes go straight to the descriptor: anything that cannot be a terminal. */
  #isDirect(): boolean {
    if (this.#direct === undefined) {
      try {
        this.#direct = neverATerminal(fstatSync(this.#fd));
      } catch {
        // A closed descriptor: Node's stream knows what to do with it.
        this.#direct = false;
      }
    }
    return this.#direct;
  }
}

/**
 * Not a character device, or one of Linux's memory devices (major 1: /dev/null, /dev/zero,
 * /dev/full), which Node's stream would write with write(2) too: it makes a file stream for
 * a device that is not a terminal. Which other devices are terminals only node:tty knows.
 */
function neverATerminal(stat: Stats): boolean {
  if (!stat.isCharacterDevice()) return true;
  return process.platform === "linux" && stat.rdev >= 0x100 && stat.rdev <= 0x1ff;
}

function copyOf(data: string | Uint8Array): string | Buffer {
  return typeof data === "string" ? data : Buffer.from(data);
}

export const STDOUT = new StdioWriter(1, "stdout", () => process.stdout);
export const STDERR = new StdioWriter(2, "stderr", () => process.stderr);
