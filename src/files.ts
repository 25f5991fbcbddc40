/**
 * Input files and output files of commands. A missing or unreadable input is a usage error
 * (exit 2, the contract's rule); an output file is written aside and renamed into place, so
 * a failed run leaves nothing behind and a reader never sees half a file.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { TspError } from "./errors.js";

/** Upper bound for inputs read whole (certificates, keys, data objects). */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** The words for a failed file operation: "no such file", "permission denied", ... */
export function errnoWhy(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** The whole of `path`, or of stdin for `-`. */
export async function readInput(path: string, what = "input"): Promise<Uint8Array> {
  if (path === "-") return readStdin(what);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new TspError("usage", `read ${what} ${path}: ${errnoWhy(error)}`, { cause: error });
  }
  if (bytes.length > MAX_INPUT_BYTES) {
    throw new TspError("usage", `read ${what} ${path}: larger than ${MAX_INPUT_BYTES} bytes`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function readStdin(what: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of process.stdin) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buffer.length;
      if (size > MAX_INPUT_BYTES) {
        throw new TspError(
          "usage",
          `read ${what} from stdin: larger than ${MAX_INPUT_BYTES} bytes`,
        );
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof TspError) throw error;
    throw new TspError("usage", `read ${what} from stdin: ${errnoWhy(error)}`, { cause: error });
  }
  const all = Buffer.concat(chunks);
  return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
}

export interface OutputFileOptions {
  /** The bytes are a secret or private value: a new file is created 0600. */
  secret?: boolean;
}

/**
 * Writes `data` to `path` through a temporary file in the same directory and a rename:
 * all or nothing. An existing file is replaced (as `openssl req -out` does).
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  what = "output",
  options: OutputFileOptions = {},
): void {
  let temporary: string | undefined;
  try {
    const created = createBeside(path, options.secret === true ? 0o600 : 0o644);
    temporary = created.temporary;
    try {
      writeFileSync(created.fd, data);
    } finally {
      closeSync(created.fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    if (temporary) rmSync(temporary, { force: true });
    throw new TspError("failure", `write ${what} ${path}: ${errnoWhy(error)}`, { cause: error });
  }
}

let temporaries = 0;

/**
 * A new temporary file beside `path`, opened with O_EXCL (never through a planted symlink).
 * pid.counter names are unique for this run; a stale file of a crashed run gets another name.
 */
function createBeside(path: string, mode: number): { fd: number; temporary: string } {
  for (let attempt = 0; ; attempt++) {
    const retry = attempt === 0 ? "" : `.${Math.random().toString(36).slice(2, 10)}`;
    const temporary = join(
      dirname(path),
      `.${basename(path)}.${process.pid}.${temporaries++}${retry}.tmp`,
    );
    try {
      return { fd: openSync(temporary, "wx", mode), temporary };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw error;
    }
  }
}
