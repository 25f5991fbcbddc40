/**
 * Input files and output files of commands (the contract's "Files").
 *
 * Inputs are read whole up to a bound, incrementally, and refused (exit 2) as soon as they
 * pass it, so /dev/zero costs a moment and no memory. Nothing here waits in a blocking
 * system call: a FIFO with no writer or a terminal is read through the event loop, so
 * Ctrl-C and SIGTERM are handled while tsp11 waits (a thread blocked in open() or read()
 * would also hold process.exit, which joins the I/O threads). A regular file, which has
 * nothing to wait for, is read at once.
 *
 * Outputs: a regular file is replaced atomically (written aside, renamed into place) with
 * its old mode; a new one is created 0600 when it holds a secret. Anything else (a device,
 * a FIFO, /dev/stdout) is written through, never replaced. A symlink is followed.
 */
import type { Stats } from "node:fs";
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  openSync,
  read,
  readSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  write,
  writeFileSync,
  writeSync,
} from "node:fs";
import type { Socket } from "node:net";
import { basename, dirname, join, resolve } from "node:path";
import type { ReadStream } from "node:tty";
import { promisify } from "node:util";
import { errnoWhy, writeError } from "./errno.js";
import { TspError } from "./errors.js";
import { STDOUT } from "./output/stdio.js";

/** Upper bound for inputs read whole (certificates, keys, data objects, signatures). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;
/** Upper bound for a PIN file. */
export const MAX_PIN_BYTES = 1024 * 1024;

const READ_CHUNK = 1024 * 1024;
/** How long to wait before asking a non-blocking device again (EAGAIN, a FIFO's reader). */
const RETRY_MS = 20;

const delay = (ms: number): Promise<void> =>
  new Promise((done) => {
    setTimeout(done, ms);
  });
const readAsync = promisify(read);
const writeAsync = promisify(write);

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

// ---------------------------------------------------------------------------------------
// Inputs

/** An input passed its bound; readInput names the bound in the message. */
class InputTooLarge extends Error {}

function sizeWords(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

/**
 * The whole of `path` (stdin for `-`): at most `limit` bytes, else exit 2. Regular files,
 * devices, FIFOs and terminals alike; a missing or unreadable input is exit 2 too.
 */
export async function readInput(
  path: string,
  what = "input",
  limit = MAX_INPUT_BYTES,
): Promise<Uint8Array> {
  const where = path === "-" ? "from stdin" : path;
  try {
    const bytes = path === "-" ? await collect(process.stdin, limit) : await readPath(path, limit);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    const why =
      error instanceof InputTooLarge ? `larger than ${sizeWords(limit)}` : errnoWhy(error);
    throw new TspError("usage", `read ${what} ${where}: ${why}`, { cause: error });
  }
}

async function readPath(path: string, limit: number): Promise<Buffer> {
  // O_NONBLOCK: opening a FIFO that has no writer yet returns at once (the wait moves to the
  // event loop); it changes nothing for regular files.
  const fd = openNonBlocking(path);
  let stream: Socket | ReadStream | undefined;
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw errnoError("EISDIR", "is a directory");
    if (stats.isFile() && stats.size > limit) throw new InputTooLarge();
    stream = await eventStream(fd, stats);
    return await (stream ? collect(stream, limit) : readFd(fd, stats, limit));
  } finally {
    if (stream) stream.destroy();
    else closeSync(fd);
  }
}

/** Opens `path` for reading without waiting (a FIFO without a writer opens at once). */
export function openNonBlocking(path: string): number {
  return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
}

/**
 * A FIFO or a terminal as a stream driven by the event loop (epoll): it waits for a writer or
 * a line without a thread blocked in read(). Undefined for files and other devices. The
 * stream owns `fd` (destroying it closes it). node:net and node:tty load only then: they
 * cost start-up time every run would pay.
 */
export async function eventStream(
  fd: number,
  stats: Stats,
): Promise<Socket | ReadStream | undefined> {
  if (stats.isFIFO()) {
    const { Socket } = await import("node:net");
    return new Socket({ fd, readable: true, writable: false });
  }
  if (!stats.isCharacterDevice()) return undefined;
  const tty = await import("node:tty");
  return tty.isatty(fd) ? new tty.ReadStream(fd) : undefined;
}

/** A stream's bytes up to `limit`; leaving the loop early destroys the stream. */
async function collect(stream: AsyncIterable<unknown>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += bytes.length;
    if (size > limit) throw new InputTooLarge();
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, size);
}

/**
 * A regular file or a device, one byte past the bound at most. A device is read on the I/O
 * threads; a regular file at once, as its read() waits for no writer (the I/O threads start
 * on first use, which costs a start about 3 ms). Files that say they are empty go the device
 * way: /proc has files of size 0 whose read() waits (/proc/kmsg).
 */
async function readFd(fd: number, stats: Stats, limit: number): Promise<Buffer> {
  const readChunk =
    stats.isFile() && stats.size > 0
      ? (buffer: Buffer, length: number) => readSync(fd, buffer, 0, length, null)
      : async (buffer: Buffer, length: number) =>
          (await readAsync(fd, buffer, 0, length, null)).bytesRead;
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const want = stats.isFile() && size === 0 && stats.size > 0 ? stats.size + 1 : READ_CHUNK;
    const length = Math.min(want, limit + 1 - size);
    const buffer = Buffer.allocUnsafe(length);
    let got: number;
    try {
      got = await readChunk(buffer, length);
    } catch (error) {
      // A device opened non-blocking that has nothing yet.
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      await delay(RETRY_MS);
      continue;
    }
    if (got === 0) return Buffer.concat(chunks, size);
    chunks.push(buffer.subarray(0, got));
    size += got;
    if (size > limit) throw new InputTooLarge();
  }
}

// ---------------------------------------------------------------------------------------
// Outputs

export interface OutputFileOptions {
  /** The bytes are a secret or private value: a new file is created 0600. */
  secret?: boolean;
}

/** `-` names stdout, as everywhere in the contract. */
export function isStdout(path: string | undefined): boolean {
  return path === "-";
}

type OutputTarget =
  | { kind: "create"; path: string }
  | { kind: "replace"; path: string; old: Stats }
  | { kind: "through"; fifo: boolean; truncate: boolean };

/**
 * Writes `data` to the file `path` as the contract's "Files" says; any failure is
 * `write <what> <path>: <why>`, exit 1, and leaves no partial file.
 */
export async function writeOutput(
  path: string,
  data: string | Uint8Array,
  what = "output",
  options: OutputFileOptions = {},
): Promise<void> {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  try {
    const target = outputTarget(path);
    if (target.kind === "create") replaceFile(target.path, bytes, options.secret ? 0o600 : 0o666);
    else if (target.kind === "replace") replaceFile(target.path, bytes, 0o600, target.old);
    else if (target.fifo) await writeFifo(path, bytes);
    else await writeDevice(path, bytes, target.truncate);
  } catch (error) {
    throw writeError(`${what} ${path}`, error);
  }
}

export interface StreamedOutputOptions extends OutputFileOptions {
  /** Standard output: hold every byte until commit (nothing shown before the run succeeded). */
  holdStdout?: boolean;
  /** What the bytes are, for the error message (`write plaintext out.bin: ...`). */
  what: string;
}

/**
 * An output written a part at a time (encrypt, decrypt), decided as writeOutput decides: a
 * regular file is written beside its place and renamed there by `commit`, keeping the old
 * file's owner and mode (so a failed run leaves nothing, never unauthenticated plaintext);
 * a device or FIFO is written through. Standard output (`-` or none) streams, or holds the
 * bytes until `commit`. Synchronous writes: no queue grows behind a slow reader.
 */
export class StreamedOutput {
  readonly #path: string | undefined;
  readonly #options: StreamedOutputOptions;
  #fd: number | undefined;
  #aside: { temporary: string; path: string; old: Stats | undefined } | undefined;
  #held: Buffer[] = [];
  #done = false;

  constructor(path: string | undefined, options: StreamedOutputOptions) {
    this.#path = path === undefined || isStdout(path) ? undefined : path;
    this.#options = options;
    if (this.#path !== undefined) this.#open(this.#path);
  }

  #fail(error: unknown): TspError {
    return writeError(`${this.#options.what} ${this.#path ?? "to stdout"}`, error);
  }

  #open(path: string): void {
    try {
      const target = outputTarget(path);
      if (target.kind === "through") {
        const flags =
          constants.O_WRONLY | constants.O_NOCTTY | (target.truncate ? constants.O_TRUNC : 0);
        this.#fd = openSync(path, flags);
        return;
      }
      const old = target.kind === "replace" ? target.old : undefined;
      const { fd, temporary } = createBeside(
        target.path,
        old || this.#options.secret ? 0o600 : 0o666,
      );
      this.#fd = fd;
      this.#aside = { temporary, path: target.path, old };
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** Writes (or holds) `bytes`; the caller may reuse its buffer as soon as this returns. */
  write(bytes: Uint8Array): void {
    if (this.#fd === undefined) {
      if (this.#options.holdStdout) this.#held.push(Buffer.from(bytes));
      else STDOUT.write(bytes);
      return;
    }
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(this.#fd, bytes, offset);
    } catch (error) {
      this.discard();
      throw this.#fail(error);
    }
  }

  /** The run succeeded: the file takes its place, held bytes go to standard output. */
  commit(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#fd === undefined) {
      for (const part of this.#held) STDOUT.write(part);
      this.#held = [];
      return;
    }
    const aside = this.#aside;
    try {
      try {
        if (aside?.old) keepOwnerAndMode(this.#fd, aside.old);
      } finally {
        closeSync(this.#fd);
      }
      if (aside) renameSync(aside.temporary, aside.path);
    } catch (error) {
      if (aside) rmSync(aside.temporary, { force: true });
      throw this.#fail(error);
    }
  }

  /** The run failed: the temporary file goes, held bytes are dropped. */
  discard(): void {
    if (this.#done) return;
    this.#done = true;
    this.#held = [];
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {
      // Closing a descriptor we are abandoning.
    }
    if (this.#aside) rmSync(this.#aside.temporary, { force: true });
  }
}

/** What writing `path` means: create, replace a regular file, or write through. */
function outputTarget(path: string): OutputTarget {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return { kind: "create", path: linkTarget(path) };
  }
  if (stats.isDirectory()) throw errnoError("EISDIR", "is a directory");
  if (!stats.isFile()) return { kind: "through", fifo: stats.isFIFO(), truncate: false };
  if (!lstatSync(path).isSymbolicLink()) return { kind: "replace", path, old: stats };
  const real = realTarget(path);
  if (real === undefined) return { kind: "through", fifo: false, truncate: true };
  return { kind: "replace", path: real, old: stats };
}

/**
 * The file a symlink chain ends at; undefined when the chain goes through /proc (/dev/stdout
 * -> /proc/self/fd/1 -> the file the shell opened: written through, as `>` would).
 */
function realTarget(path: string): string | undefined {
  let current = path;
  for (let hops = 0; hops < 40 && lstatSync(current).isSymbolicLink(); hops++) {
    current = resolve(dirname(current), readlinkSync(current));
    if (current.startsWith("/proc/")) return undefined;
  }
  return realpathSync.native(path);
}

/** Where a new file named through a (dangling) symlink is created: at the link's target. */
function linkTarget(path: string): string {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    try {
      if (!lstatSync(current).isSymbolicLink()) return current;
    } catch {
      return current;
    }
    current = resolve(dirname(current), readlinkSync(current));
  }
  throw errnoError("ELOOP", "too many levels of symbolic links");
}

/**
 * All or nothing: the bytes go to a temporary file beside `path`, which is renamed over it.
 * Replacing keeps the old file's owner (where allowed) and mode; the temporary file is 0600
 * until then. A new file gets `mode` less the umask. Synchronous from creation to rename: no
 * signal handler runs in between, so Ctrl-C never leaves the temporary file behind.
 */
function replaceFile(path: string, bytes: Uint8Array, mode: number, old?: Stats): void {
  const { fd, temporary } = createBeside(path, mode);
  try {
    try {
      writeFileSync(fd, bytes);
      if (old) keepOwnerAndMode(fd, old);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

function keepOwnerAndMode(fd: number, old: Stats): void {
  const mine = fstatSync(fd);
  if (mine.uid !== old.uid || mine.gid !== old.gid) {
    try {
      fchownSync(fd, old.uid, old.gid);
    } catch {
      // Only root may give a file away: the file is then ours, with the old mode.
    }
  }
  fchmodSync(fd, old.mode & 0o7777);
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

/**
 * A FIFO: opened non-blocking, which fails (ENXIO) while it has no reader, so tsp11 waits
 * for one in the event loop (signals still work), then writes through the event loop too.
 */
async function writeFifo(path: string, bytes: Uint8Array): Promise<void> {
  let fd: number;
  for (;;) {
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENXIO") throw error;
      await delay(RETRY_MS);
    }
  }
  const [{ Socket }, { finished }] = await Promise.all([
    import("node:net"),
    import("node:stream/promises"),
  ]);
  const socket = new Socket({ fd, readable: false, writable: true });
  try {
    socket.end(bytes);
    await finished(socket);
  } finally {
    socket.destroy();
  }
}

/** A device (or a file behind /proc/self/fd): written in place, never created or renamed. */
async function writeDevice(path: string, bytes: Uint8Array, truncate: boolean): Promise<void> {
  const flags =
    constants.O_WRONLY |
    constants.O_NONBLOCK |
    constants.O_NOCTTY |
    (truncate ? constants.O_TRUNC : 0);
  const fd = openSync(path, flags);
  try {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        const { bytesWritten } = await writeAsync(fd, bytes, offset, bytes.length - offset, null);
        offset += bytesWritten;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
        await delay(RETRY_MS);
      }
    }
  } finally {
    closeSync(fd);
  }
}
