/**
 * Standard output without Node's stream (src/output/stdio.ts): files, pipes and memory devices
 * are written straight to the descriptor, other devices through the stream, and a full
 * non-blocking pipe hands the rest, and all that follows, to the stream, in order.
 */
import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TspError } from "../../../src/errors.js";
import { StdioWriter } from "../../../src/output/stdio.js";

/** A stand-in for Node's stream: what was written to it, and whether it was made. */
function fakeStream() {
  const parts: Buffer[] = [];
  let made = 0;
  const stream = {
    isTTY: true,
    columns: 99,
    // Holds on to what it is given, as a stream waiting for its reader does.
    write: (data: string | Uint8Array) => {
      parts.push(typeof data === "string" ? Buffer.from(data) : (data as Buffer));
      return true;
    },
    on: () => stream,
  };
  return {
    make: () => {
      made++;
      return stream as unknown as NodeJS.WriteStream;
    },
    made: () => made,
    text: () => Buffer.concat(parts).toString(),
    bytes: () => Buffer.concat(parts),
  };
}

let dir: string;
const fds: number[] = [];
const open = (path: string, flags: number): number => {
  const fd = openSync(path, flags);
  fds.push(fd);
  return fd;
};
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tsp11-stdio-"));
});
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

describe("StdioWriter", () => {
  it("writes a file straight to the descriptor, never making the stream", () => {
    const stream = fakeStream();
    const path = join(dir, "out");
    const writer = new StdioWriter(
      open(path, constants.O_WRONLY | constants.O_CREAT),
      "stdout",
      stream.make,
    );
    expect(writer.isTTY).toBe(false);
    expect(writer.columns).toBeUndefined();
    writer.write("héllo ");
    writer.write(new Uint8Array([0x77, 0x6f, 0x72, 0x6c, 0x64]));
    expect(readFileSync(path, "utf8")).toBe("héllo world");
    expect(stream.made()).toBe(0);
  });

  it("writes a character device that may be a terminal through the stream", () => {
    const stream = fakeStream();
    // A pseudo-terminal's master: a device, and not one of the memory devices.
    const writer = new StdioWriter(
      open("/dev/ptmx", constants.O_RDWR | constants.O_NOCTTY),
      "stdout",
      stream.make,
    );
    expect(writer.isTTY).toBe(true);
    expect(writer.columns).toBe(99);
    writer.write("to the stream");
    expect(stream.text()).toBe("to the stream");
    // The caller may reuse its buffer once write returns: the stream got a copy.
    const reused = Buffer.from(" kept");
    writer.write(reused);
    reused.fill(0x78);
    expect(stream.text()).toBe("to the stream kept");
  });

  it("writes /dev/null and /dev/full straight to the descriptor (memory devices)", () => {
    const stream = fakeStream();
    const nothing = new StdioWriter(open("/dev/null", constants.O_WRONLY), "stdout", stream.make);
    expect(nothing.isTTY).toBe(false);
    nothing.write("gone");
    const full = new StdioWriter(open("/dev/full", constants.O_WRONLY), "stdout", stream.make);
    expect(() => full.write("x")).toThrow("write stdout: no space left on device");
    const fullStderr = new StdioWriter(
      open("/dev/full", constants.O_WRONLY),
      "stderr",
      stream.make,
    );
    expect(fullStderr.write("dropped")).toBe(false);
    expect(stream.made()).toBe(0);
  });

  it("hands a full non-blocking pipe's rest, and every later write, to the stream", () => {
    const stream = fakeStream();
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    // Read and write ends in one non-blocking descriptor: no reader drains it.
    const fd = open(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const writer = new StdioWriter(fd, "stdout", stream.make);
    const big = Buffer.alloc(1024 * 1024, "a");
    big.write("z", big.length - 1);
    writer.write(big);
    writer.write("after");
    expect(stream.made()).toBe(1);
    const inPipe = Buffer.alloc(big.length);
    let got = 0;
    try {
      for (let n; (n = readSync(fd, inPipe, got, inPipe.length - got, null)) > 0;) got += n;
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe("EAGAIN");
    }
    expect(got).toBeGreaterThan(0);
    // Compared with Buffer.equals: toEqual walks the 1 MiB byte by byte, seconds on a busy host.
    const written = Buffer.concat([inPipe.subarray(0, got), stream.bytes()]);
    const expected = Buffer.concat([big, Buffer.from("after")]);
    expect(written.length).toBe(expected.length);
    expect(written.equals(expected)).toBe(true);
  });

  it("throws a failed write of stdout as one line (exit 1); drops one of stderr", () => {
    const stream = fakeStream();
    const fifo = join(dir, "closed");
    execFileSync("mkfifo", [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = open(fifo, constants.O_WRONLY);
    closeSync(reader);
    const stdout = new StdioWriter(fd, "stdout", stream.make);
    expect(() => stdout.write("x")).toThrow(
      new TspError("failure", "write stdout: broken pipe (the reader closed it)"),
    );
    expect(new StdioWriter(fd, "stderr", stream.make).write("x")).toBe(false);
    expect(stream.made()).toBe(0);
  });
});
