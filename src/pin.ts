import type { ReadStream } from "node:tty";
import { inspect } from "node:util";
import { InterruptedError, TspError } from "./errors.js";
import { MAX_PIN_BYTES, readInput } from "./files.js";
import { STDERR } from "./output/stdio.js";

/** A PIN that cannot leak by accident: every way of printing it gives ***. */
export class Pin {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "***";
  }

  toJSON(): string {
    return "***";
  }

  [inspect.custom](): string {
    return "Pin(***)";
  }
}

export interface PinSources {
  /** --pin / TSP11_PIN; OpenSC's `env:NAME` form reads another variable. */
  value?: string | undefined;
  /** --pin-file: exactly one trailing newline is stripped. */
  file?: string | undefined;
  /** The two options, for the error when both are given. */
  options?: readonly [string, string];
}

/** A PIN file (or `-`, stdin): at most 1 MiB, read without blocking signals (a FIFO too). */
export async function pinFromFile(path: string): Promise<Pin> {
  const bytes = await readInput(path, "PIN file", MAX_PIN_BYTES);
  return new Pin(
    Buffer.from(bytes)
      .toString("utf8")
      .replace(/\r?\n$/, ""),
  );
}

function pinFromValue(value: string): Pin {
  const env = /^env:(.+)$/.exec(value);
  if (!env?.[1]) return new Pin(value);
  const fromEnv = process.env[env[1]];
  if (fromEnv === undefined) {
    throw new TspError("auth", `read PIN: environment variable ${env[1]} is not set`);
  }
  return new Pin(fromEnv);
}

/** The PIN given by flag, env or file, without prompting; undefined when none was given. */
export async function givenPin(sources: PinSources): Promise<Pin | undefined> {
  if (sources.value !== undefined && sources.file !== undefined) {
    const [value, file] = sources.options ?? ["--pin", "--pin-file"];
    throw new TspError("usage", `PIN: give either ${value} or ${file}, not both`);
  }
  if (sources.file !== undefined) return await pinFromFile(sources.file);
  if (sources.value !== undefined) return pinFromValue(sources.value);
  return undefined;
}

/** How to give the user PIN without a terminal: the error a missing PIN ends in. */
export const USER_PIN_SOURCES = "use --pin, --pin-file or TSP11_PIN";
/** How to give the SO PIN without a terminal. */
export const SO_PIN_SOURCES = "use --so-pin, --so-pin-file or TSP11_SO_PIN";

/** Where a prompt is asked: the terminal's input, and where the question is written. */
interface Terminal {
  input: ReadStream;
  write: (text: string) => void;
  close: () => void;
}

/**
 * stdin when it is a terminal; otherwise the controlling terminal (/dev/tty), as ssh, sudo
 * and gpg do, so `tsp11 sign ... < data.txt` still asks. Undefined with no terminal at all.
 */
async function openTerminal(): Promise<Terminal | undefined> {
  if (process.stdin.isTTY) {
    return {
      input: process.stdin,
      write: (text) => STDERR.stream().write(text),
      close: () => process.stdin.pause(),
    };
  }
  const { closeSync, constants, openSync, writeSync } = await import("node:fs");
  let fd: number;
  try {
    // No controlling terminal (a daemon, setsid, CI): ENXIO at once, never a wait.
    fd = openSync("/dev/tty", constants.O_RDWR | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
  const tty = await import("node:tty");
  if (!tty.isatty(fd)) {
    closeSync(fd);
    return undefined;
  }
  const output = openSync("/dev/tty", constants.O_WRONLY | constants.O_NOCTTY);
  const input = new tty.ReadStream(fd);
  return {
    input,
    // The question goes where the answer comes from, as ssh writes it to /dev/tty.
    write: (text) => writeSync(output, text),
    close: () => {
      input.destroy();
      closeSync(output);
    },
  };
}

/**
 * Asks for a PIN on the terminal without echo. No terminal → exit 4, as a script that forgot
 * its PIN must not hang; `sources` says how to give it instead.
 */
export async function promptPin(prompt: string, sources = USER_PIN_SOURCES): Promise<Pin> {
  const terminal = await openTerminal();
  if (!terminal) {
    throw new TspError("auth", `${prompt}: a PIN is needed and none was given (${sources})`);
  }
  // Echo off before the question: an answer typed at once is never shown.
  terminal.input.setRawMode(true);
  terminal.write(`${prompt}: `);
  terminal.input.resume();
  try {
    const value = await readHidden(terminal.input);
    return new Pin(value);
  } finally {
    terminal.input.setRawMode(false);
    terminal.write("\n");
    terminal.close();
  }
}

/**
 * A new PIN asked twice (a typo would lock its owner out); different answers are exit 2 and
 * nothing is changed. With `optional`, an empty first answer means "none" (undefined).
 */
export async function promptNewPin(prompt: string, what: string, sources: string): Promise<Pin>;
export async function promptNewPin(
  prompt: string,
  what: string,
  sources: string,
  optional: true,
): Promise<Pin | undefined>;
export async function promptNewPin(
  prompt: string,
  what: string,
  sources: string,
  optional = false,
): Promise<Pin | undefined> {
  const first = await promptPin(optional ? `${prompt} (empty: none)` : prompt, sources);
  if (optional && first.reveal() === "") return undefined;
  const second = await promptPin(`${prompt} again`, sources);
  if (first.reveal() !== second.reveal())
    throw new TspError("usage", `${what}: the two ${lowerFirst(prompt)}s differ; nothing changed`);
  return first;
}

/** "User PIN" -> "user PIN" (an acronym stays: "SO PIN"). */
function lowerFirst(words: string): string {
  return words.replace(/^[A-Z](?=[a-z])/, (first) => first.toLowerCase());
}

function readHidden(input: ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = "";
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString("utf8")) {
        if (char === "\r" || char === "\n") {
          input.off("data", onData);
          resolve(value);
          return;
        }
        if (char === "\u0003") {
          input.off("data", onData);
          reject(new InterruptedError());
          return;
        }
        if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
        else value += char;
      }
    };
    input.on("data", onData);
  });
}
