/**
 * What `encrypt` and `decrypt` share: the key and mechanism options, the IV's place (the
 * first bytes of the ciphertext unless --iv-out / --no-iv-prefix), and the input read in
 * chunks into one reused buffer, with the IV prefix peeled off first.
 */
import { closeSync, readSync } from "node:fs";
import type { Command } from "commander";
import { Option } from "commander";
import type { CipherName, CipherRequest } from "../core/encrypt.js";
import { CIPHER_NAMES, parseCipherName, parseOaepHash } from "../core/encrypt.js";
import type { HashName } from "../pkcs11/cipher.js";
import { TspError, usageError } from "../errors.js";
import { errnoWhy } from "../errno.js";
import { readInput } from "../files.js";
import { parseHexId } from "../options.js";
import type { TextEncoding } from "./sign-common.js";
import { checkInputFile, fdChunks, openInput, stdinChunks } from "./sign-common.js";
import type { CommandContext } from "../context.js";
import type { KeySelector } from "../core/find-key.js";
import { keySelectorOf } from "../core/find-key.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";

export interface CipherFlags {
  key?: string;
  id?: Uint8Array;
  mechanism?: CipherName;
  hash?: HashName;
  mgf?: HashName;
  oaepLabel?: Uint8Array;
  iv?: Uint8Array;
  ivOut?: string;
  ivPrefix?: boolean;
  aad?: string;
  tagBits?: number;
  input?: string;
  output?: string;
  encoding?: TextEncoding;
}

function parseHexBytes(option: string): (text: string) => Uint8Array {
  return (text) => {
    const hex = text.trim().replace(/^0x/i, "").replaceAll(":", "");
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      throw usageError(`invalid ${option} "${text}": expected hex bytes`);
    }
    return Uint8Array.from(Buffer.from(hex, "hex"));
  };
}

function parseTagBits(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw usageError(`invalid --tag-bits "${text}"`);
  return Number(text.trim());
}

export function addCipherOptions(command: Command, encodingHelp: string): Command {
  return command
    .addOption(sharedOption("key", "the key's CKA_LABEL"))
    .addOption(oldSpelling("key"))
    .option("--id <hex>", "the key's CKA_ID", parseHexId)
    .option(
      "-m, --mechanism <mech>",
      `${CIPHER_NAMES.join(", ")} (default: RSA-PKCS-OAEP for RSA keys, AES-GCM for AES keys)`,
      parseCipherName,
    )
    .option(
      "--hash <alg>",
      "RSA-PKCS-OAEP hash: sha1, sha256 (default), sha384, sha512",
      parseOaepHash,
    )
    .option(
      "--mgf <mgf>",
      "RSA-PKCS-OAEP mask: MGF1-SHA1|256|384|512 (default: the hash's)",
      parseOaepHash,
    )
    .option("--oaep-label <hex>", "RSA-PKCS-OAEP label", parseHexBytes("--oaep-label"))
    .option("--iv <hex>", "AES IV / GCM nonce (encrypt default: random)", parseHexBytes("--iv"))
    .option("--iv-out <file>", "the IV is in this file (raw bytes), not before the ciphertext")
    .option("--no-iv-prefix", "the IV is not before the ciphertext (give it with --iv)")
    .option("--aad <file>", "AES-GCM additional authenticated data")
    .option("--tag-bits <bits>", "AES-GCM tag length: 96..128 (default 128)", parseTagBits)
    .addOption(sharedOption("input", "the data (default: stdin)"))
    .addOption(oldSpelling("input"))
    .addOption(sharedOption("output", "write the result here (default: stdout)"))
    .addOption(oldSpelling("output"))
    .addOption(new Option("--encoding <enc>", encodingHelp).choices(["base64", "hex"]));
}

export async function cipherRequest(flags: CipherFlags): Promise<CipherRequest> {
  return {
    mechanism: flags.mechanism,
    hash: flags.hash,
    mgf: flags.mgf,
    oaepLabel: flags.oaepLabel,
    iv: flags.iv,
    aad: flags.aad !== undefined ? await readInput(flags.aad, "AAD") : undefined,
    tagBits: flags.tagBits,
  };
}

/** What encrypt and decrypt settle before any token is opened: a bad option changes nothing. */
export interface CipherRun {
  inputPath: string;
  selector: KeySelector;
  request: CipherRequest;
  /** A file output (not stdout). */
  toFile: boolean;
  /** --json with no file output: the bytes go into the JSON. */
  collectJson: boolean;
}

export async function prepareCipherRun(
  flags: CipherFlags,
  ctx: CommandContext,
): Promise<CipherRun> {
  const inputPath = flags.input ?? "-";
  checkInputFile(inputPath);
  const selector = keySelectorOf(flags.key, flags.id, ctx.uri);
  const request = await cipherRequest(flags);
  if (flags.ivOut !== undefined && flags.ivPrefix === false) {
    throw usageError("give --iv-out or --no-iv-prefix, not both");
  }
  const toFile = flags.output !== undefined && flags.output !== "-";
  return { inputPath, selector, request, toFile, collectJson: ctx.output.json && !toFile };
}

/** An input in chunks, its first `prefixBytes` (the IV) read apart. */
export interface CipherInput {
  prefix: Buffer;
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>;
  close: () => void;
}

function readExactly(fd: number, length: number, path: string): Buffer {
  const bytes = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    let got: number;
    try {
      got = readSync(fd, bytes, read, length - read, null);
    } catch (error) {
      throw new TspError("usage", `read input ${path}: ${errnoWhy(error)}`, { cause: error });
    }
    if (got === 0) break;
    read += got;
  }
  return bytes.subarray(0, read);
}

/** stdin's first `length` bytes apart, then the rest as it comes. */
async function peelStdin(buffer: Buffer, length: number): Promise<CipherInput> {
  const iterator = stdinChunks(buffer)[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let have = 0;
  let rest: Buffer | undefined;
  while (have < length) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = Buffer.from(next.value);
    const need = length - have;
    parts.push(chunk.subarray(0, need));
    have += Math.min(need, chunk.length);
    if (chunk.length > need) rest = chunk.subarray(need);
  }
  async function* remaining(): AsyncGenerator<Buffer> {
    if (rest) yield rest;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { prefix: Buffer.concat(parts), chunks: remaining(), close: () => undefined };
}

/**
 * The input, its IV prefix apart. A file is read synchronously into `buffer` (no promise or
 * garbage per chunk: flat memory at any size); stdin through the stream when it is a pipe.
 */
export async function openCipherInput(
  path: string,
  buffer: Buffer,
  prefixBytes: number,
  encoding: TextEncoding | undefined,
): Promise<CipherInput> {
  if (encoding !== undefined) {
    // Text input (bounded like every whole input), decoded before use.
    const text = Buffer.from(await readInput(path))
      .toString("ascii")
      .replace(/\s+/g, "");
    const pattern = encoding === "hex" ? /^(?:[0-9a-fA-F]{2})*$/ : /^[A-Za-z0-9+/]*={0,2}$/;
    if (!pattern.test(text)) throw usageError(`the input is not ${encoding} text`);
    const bytes = Buffer.from(text, encoding);
    return {
      prefix: bytes.subarray(0, prefixBytes),
      chunks: [bytes.subarray(prefixBytes)],
      close: () => undefined,
    };
  }
  if (path === "-") return peelStdin(buffer, prefixBytes);
  const fd = openInput(path);
  const close = (): void => {
    try {
      closeSync(fd);
    } catch {
      // A read-only descriptor: nothing to lose.
    }
  };
  const prefix = prefixBytes > 0 ? readExactly(fd, prefixBytes, path) : Buffer.alloc(0);
  return { prefix, chunks: fdChunks(fd, buffer, path), close };
}

/** Streams text output: base64 in groups of three bytes, hex as it comes; one newline at the end. */
export class TextEncoder {
  readonly #encoding: TextEncoding;
  #carry = Buffer.alloc(0);

  constructor(encoding: TextEncoding) {
    this.#encoding = encoding;
  }

  encode(bytes: Buffer): Buffer {
    if (this.#encoding === "hex") return Buffer.from(bytes.toString("hex"), "ascii");
    const all = this.#carry.length > 0 ? Buffer.concat([this.#carry, bytes]) : bytes;
    const whole = all.length - (all.length % 3);
    this.#carry = Buffer.from(all.subarray(whole));
    return Buffer.from(all.subarray(0, whole).toString("base64"), "ascii");
  }

  end(): Buffer {
    const tail = this.#encoding === "base64" ? this.#carry.toString("base64") : "";
    return Buffer.from(`${tail}\n`, "ascii");
  }
}

export function keyJson(key: { id: Uint8Array; label: string }): {
  keyId: string;
  keyLabel: string;
} {
  return { keyId: Buffer.from(key.id).toString("hex"), keyLabel: key.label };
}
