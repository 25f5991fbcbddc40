import { inspect } from "node:util";
import { InterruptedError, TspError } from "./errors.js";
import { MAX_PIN_BYTES, readInput } from "./files.js";

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
    throw new TspError("usage", "PIN: give either --pin or --pin-file, not both");
  }
  if (sources.file !== undefined) return await pinFromFile(sources.file);
  if (sources.value !== undefined) return pinFromValue(sources.value);
  return undefined;
}

/**
 * Asks for a PIN on the terminal without echo (prompt on stderr). No terminal → exit 4,
 * as a script that forgot its PIN must not hang.
 */
export async function promptPin(prompt: string): Promise<Pin> {
  const input = process.stdin;
  if (!input.isTTY) {
    throw new TspError(
      "auth",
      `${prompt}: a PIN is needed and none was given (use --pin, --pin-file or TSP11_PIN)`,
    );
  }
  process.stderr.write(`${prompt}: `);
  input.setRawMode(true);
  input.resume();
  try {
    const value = await readHidden(input);
    return new Pin(value);
  } finally {
    input.setRawMode(false);
    input.pause();
    process.stderr.write("\n");
  }
}

function readHidden(input: NodeJS.ReadStream): Promise<string> {
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
