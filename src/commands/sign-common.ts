/**
 * What `sign` and `verify` share: the key and mechanism options, the signature encodings,
 * and reading inputs in chunks with one reused buffer (memory stays flat for any size).
 */
import type { Stats } from "node:fs";
import { closeSync, fstatSync, readSync, statSync } from "node:fs";
import { nextTurn } from "../pause.js";
import { isatty } from "node:tty";
import type { Command } from "commander";
import { Option } from "commander";
import type { Hash, SignMechanismName } from "../core/sign-mechanisms.js";
import {
  parseHash,
  parseMechanismName,
  parseMgf,
  parseSaltLen,
  SIGN_MECHANISM_NAMES,
} from "../core/sign-mechanisms.js";
import { TspError, usageError } from "../errors.js";
import { errnoWhy } from "../errno.js";
import { eventStream, openNonBlocking } from "../files.js";
import { parseHexId } from "../options.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";

/**
 * Read size for streamed inputs: chunks that stay in the CPU cache between the read and the
 * hash are fastest (measured on SoftHSM 2.6.1 and node: 1 MiB is ~25% slower than 64 KiB).
 */
export const CHUNK_BYTES = 64 * 1024;

/** Where the chunk starts within its page (see chunkBuffer). */
const PAGE_OFFSET = 2048;

/**
 * The one read buffer of a run: CHUNK_BYTES at a half-page offset inside an allocation large
 * enough for malloc to map it on its own (page-aligned, so the offset is what we choose;
 * untouched pages cost no memory). Measured: when the buffer started at the page offset of
 * SoftHSM's own malloc'd copy of each chunk, streaming 1 GiB through C_SignUpdate took ~40%
 * more CPU (4K aliasing), in about half the runs; at a 2 KiB offset every run was fast.
 */
export function chunkBuffer(): Buffer {
  const block = Buffer.allocUnsafeSlow(4 * 1024 * 1024);
  return block.subarray(PAGE_OFFSET, PAGE_OFFSET + CHUNK_BYTES);
}

export type SignatureFormat = "der" | "raw";
export type TextEncoding = "base64" | "hex";

export interface SignFlags {
  key?: string;
  id?: Uint8Array;
  mechanism?: SignMechanismName;
  hash?: Hash;
  mgf?: Hash;
  saltLen?: number;
  input?: string;
  format?: SignatureFormat;
  encoding?: TextEncoding;
}

/** -k/--key, --id, the mechanism and its parameters, --input, --format, --encoding. */
export function addSignOptions(command: Command, encodingHelp: string): Command {
  return command
    .addOption(sharedOption("key", "the key's CKA_LABEL (or its certificate's)"))
    .addOption(oldSpelling("key"))
    .option("--id <hex>", "the key's CKA_ID", parseHexId)
    .option(
      "-m, --mechanism <mech>",
      `${SIGN_MECHANISM_NAMES.join(", ")} (default: SHA256-RSA-PKCS, ECDSA-SHA256 or EDDSA by key type)`,
      parseMechanismName,
    )
    .option(
      "--hash <alg>",
      "sha256, sha384 or sha512: the default mechanism's digest; the digest RSA-PKCS-PSS input is",
      parseHash,
    )
    .option(
      "--mgf <mgf>",
      "PSS mask generation: MGF1-SHA256|384|512 (default: the hash's)",
      parseMgf,
    )
    .option(
      "--salt-len <bytes>",
      "PSS salt length (default the hash length; -1 hash length, -2 maximum)",
      parseSaltLen,
    )
    .addOption(sharedOption("input", "the data (default: stdin)"))
    .addOption(oldSpelling("input"))
    .addOption(
      new Option("--format <format>", "ECDSA signature encoding: der (default) or raw r‖s").choices(
        ["der", "raw"],
      ),
    )
    .addOption(new Option("--encoding <enc>", encodingHelp).choices(["base64", "hex"]));
}

/** A missing or unreadable input file is a usage error (exit 2), found before the token is opened. */
export function checkInputFile(path: string, what = "input"): void {
  if (path === "-") return;
  let isFile: boolean;
  try {
    const stats = statSync(path);
    isFile = !stats.isDirectory();
  } catch (error) {
    throw new TspError("usage", `read ${what} ${path}: ${errnoWhy(error)}`, { cause: error });
  }
  if (!isFile) throw new TspError("usage", `read ${what} ${path}: is a directory`);
}

/** Opens an input without waiting: a FIFO with no writer yet is waited for in the event loop. */
export function openInput(path: string, what = "input"): number {
  try {
    return openNonBlocking(path);
  } catch (error) {
    throw new TspError("usage", `read ${what} ${path}: ${errnoWhy(error)}`, { cause: error });
  }
}

function readInto(fd: number, buffer: Buffer, path: string, what: string): number {
  try {
    return readSync(fd, buffer, 0, buffer.length, null);
  } catch (error) {
    throw new TspError("usage", `read ${what} ${path}: ${errnoWhy(error)}`, { cause: error });
  }
}

/**
 * A file's bytes in chunks, read synchronously into one reused buffer: each chunk is valid
 * until the next is pulled (the signing code uses it at once). `first` is a chunk already read.
 */
export function* fdChunks(
  fd: number,
  buffer: Buffer,
  path: string,
  what = "input",
  first?: Buffer,
): Generator<Buffer> {
  if (first !== undefined) yield first;
  for (;;) {
    const read = readInto(fd, buffer, path, what);
    if (read === 0) return;
    // The whole buffer when full (most chunks): no view object per chunk.
    yield read === buffer.length ? buffer : buffer.subarray(0, read);
  }
}

/** stdin as node's stream delivers it (fresh buffers). */
async function* stdinStream(): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of process.stdin) {
      yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    }
  } catch (error) {
    throw new TspError("usage", `read input from stdin: ${errnoWhy(error)}`, { cause: error });
  }
}

/**
 * stdin in chunks: a regular file (`< file`) read synchronously from fd 0 into `buffer` (no
 * garbage, so memory stays flat at any size); a terminal or pipe through node's stream, since a
 * blocking read of a pipe whose writer is idle would hold Ctrl-C until data comes.
 */
export async function* stdinChunks(buffer: Buffer): AsyncGenerator<Buffer> {
  if (isatty(0) || !fstatSync(0).isFile()) {
    yield* stdinStream();
    return;
  }
  for (let count = 1; ; count++) {
    let read: number;
    try {
      read = readSync(0, buffer, 0, buffer.length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EOF") return;
      if (code !== "EAGAIN") {
        throw new TspError("usage", `read input from stdin: ${errnoWhy(error)}`, { cause: error });
      }
      yield* stdinStream();
      return;
    }
    if (read === 0) return;
    yield buffer.subarray(0, read);
    // Let the event loop run now and then (Ctrl-C) while data keeps coming.
    if (count % 256 === 0) await nextTurn();
  }
}

export type FileInput =
  | { whole: Buffer; chunks?: undefined; close: () => void }
  | { whole?: undefined; chunks: Generator<Buffer> | AsyncIterable<Buffer>; close: () => void };

/**
 * A FIFO or a terminal read as the event loop delivers it (Ctrl-C works while it waits for
 * a writer). `close` ends the stream, or the descriptor when reading never started.
 */
function eventChunks(fd: number, stats: Stats, path: string, what: string): FileInput {
  let stream: { destroy: () => void } | undefined;
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      const events = await eventStream(fd, stats);
      if (!events) throw new Error("not a FIFO or terminal");
      stream = events;
      for await (const chunk of events) {
        yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      }
    } catch (error) {
      throw new TspError("usage", `read ${what} ${path}: ${errnoWhy(error)}`, { cause: error });
    }
  }
  const close = (): void => {
    if (stream) stream.destroy();
    else closeQuietly(fd);
  };
  return { chunks: chunks(), close };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // A read-only descriptor: nothing to lose.
  }
}

/**
 * A regular file that fits `buffer` read whole (a view of the buffer), else its chunks
 * (pipes, devices, large files). `close` releases the descriptor once the caller is done.
 */
export function readFileOrChunks(path: string, buffer: Buffer, what = "input"): FileInput {
  const fd = openInput(path, what);
  const close = (): void => {
    closeQuietly(fd);
  };
  try {
    const stats = fstatSync(fd);
    if (stats.isFIFO() || isatty(fd)) return eventChunks(fd, stats, path, what);
    if (!stats.isFile() || stats.size >= buffer.length) {
      return { chunks: fdChunks(fd, buffer, path, what), close };
    }
    // Up to the size fstat gave (no extra read for EOF: batches sign thousands of files);
    // files reporting size 0 (/proc) are read to their end.
    let read = 0;
    while (read < buffer.length) {
      const got = readInto(fd, buffer.subarray(read), path, what);
      read += got;
      if (got === 0 || (stats.size > 0 && read >= stats.size)) {
        return { whole: buffer.subarray(0, read), close };
      }
    }
    // The file grew while being read: go on in chunks after what is already here.
    return { chunks: fdChunks(fd, buffer, path, what, Buffer.from(buffer)), close };
  } catch (error) {
    close();
    throw error;
  }
}

export function encodeSignature(
  signature: Uint8Array,
  encoding: TextEncoding | undefined,
): Uint8Array {
  if (encoding === undefined) return signature;
  const bytes = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
  return Buffer.from(`${bytes.toString(encoding)}\n`, "ascii");
}

/** A signature file's bytes: binary, or base64/hex text (whitespace ignored). */
export function decodeSignature(bytes: Buffer, encoding: TextEncoding | undefined): Buffer {
  if (encoding === undefined) return bytes;
  const text = bytes.toString("ascii").replace(/\s+/g, "");
  const pattern = encoding === "hex" ? /^(?:[0-9a-fA-F]{2})*$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (!pattern.test(text)) throw usageError(`the signature is not ${encoding} text`);
  return Buffer.from(text, encoding);
}
