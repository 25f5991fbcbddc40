/** The file side of sign/verify: chunked reads with one buffer, signature encodings. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CHUNK_BYTES,
  chunkBuffer,
  decodeSignature,
  encodeSignature,
  readFileOrChunks,
} from "../../../src/commands/sign-common.js";
import { TspError } from "../../../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "tsp11-sign-io-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function collect(path: string): { whole: boolean; bytes: Buffer } {
  const input = readFileOrChunks(path, chunkBuffer());
  try {
    if (input.whole) return { whole: true, bytes: Buffer.from(input.whole) };
    const parts: Buffer[] = [];
    if (!(Symbol.iterator in input.chunks)) throw new Error("a regular file is read synchronously");
    for (const chunk of input.chunks) parts.push(Buffer.from(chunk));
    return { whole: false, bytes: Buffer.concat(parts) };
  } finally {
    input.close();
  }
}

describe("readFileOrChunks", () => {
  it("reads a small file whole and a large one in chunks, byte for byte", () => {
    const small = join(dir, "small");
    const large = join(dir, "large");
    const smallBytes = Buffer.from("hello\n");
    const largeBytes = Buffer.alloc(3 * CHUNK_BYTES + 5);
    for (let i = 0; i < largeBytes.length; i++) largeBytes[i] = i % 251;
    writeFileSync(small, smallBytes);
    writeFileSync(large, largeBytes);
    expect(collect(small)).toEqual({ whole: true, bytes: smallBytes });
    const read = collect(large);
    expect(read.whole).toBe(false);
    expect(read.bytes.equals(largeBytes)).toBe(true);
  });

  it("reads an empty file as empty", () => {
    const empty = join(dir, "empty");
    writeFileSync(empty, "");
    expect(collect(empty)).toEqual({ whole: true, bytes: Buffer.alloc(0) });
  });

  it("turns a missing file into a usage error (exit 2)", () => {
    expect(() => readFileOrChunks(join(dir, "absent"), chunkBuffer())).toThrow(
      new TspError("usage", `read input ${join(dir, "absent")}: no such file`),
    );
  });
});

describe("signature encodings", () => {
  const signature = Buffer.from("00ff10ab", "hex");

  it("writes binary, base64 or hex text", () => {
    expect(encodeSignature(signature, undefined)).toBe(signature);
    expect(encodeSignature(signature, "base64").toString()).toBe("AP8Qqw==\n");
    expect(encodeSignature(signature, "hex").toString()).toBe("00ff10ab\n");
  });

  it("reads them back, ignoring whitespace, and refuses text that is not the encoding", () => {
    expect(decodeSignature(Buffer.from(" AP8Q\nqw==\n"), "base64").equals(signature)).toBe(true);
    expect(decodeSignature(Buffer.from("00FF10AB\n"), "hex").equals(signature)).toBe(true);
    expect(() => decodeSignature(Buffer.from("00f"), "hex")).toThrow(TspError);
    expect(() => decodeSignature(Buffer.from("a*b"), "base64")).toThrow(TspError);
  });
});
