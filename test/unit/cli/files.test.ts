/** Inputs and outputs (the contract's "Files"): bounds, atomic replacement, modes, write-through. */
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TspError } from "../../../src/errors.js";
import { readInput, writeOutput } from "../../../src/files.js";

const dir = mkdtempSync(join(tmpdir(), "tsp11-files-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const temporaries = (where = dir): string[] =>
  readdirSync(where).filter((name) => name.endsWith(".tmp"));
const modeOf = (path: string): number => statSync(path).mode & 0o7777;
const isRoot = process.getuid?.() === 0;

/** A FIFO read by `cat` into a buffer: what a reader of the FIFO receives. */
function fifoReader(path: string): Promise<Buffer> {
  execFileSync("mkfifo", [path]);
  const cat = spawn("cat", [path]);
  const chunks: Buffer[] = [];
  cat.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    cat.on("close", () => {
      resolve(Buffer.concat(chunks));
    });
  });
}

describe("readInput", () => {
  it("reads a file, and refuses one over the bound before reading it (exit 2)", async () => {
    const file = join(dir, "in");
    writeFileSync(file, "hello");
    expect(Buffer.from(await readInput(file)).toString()).toBe("hello");
    await expect(readInput(file, "input", 4)).rejects.toThrow(
      new TspError("usage", `read input ${file}: larger than 4 bytes`),
    );
  });

  it("refuses an endless device at the bound (exit 2)", async () => {
    await expect(readInput("/dev/zero", "input file")).rejects.toThrow(
      new TspError("usage", "read input file /dev/zero: larger than 64 MiB"),
    );
    await expect(readInput("/dev/urandom", "PIN file", 1024 * 1024)).rejects.toThrow(
      "read PIN file /dev/urandom: larger than 1 MiB",
    );
  });

  it("reads a FIFO once a writer comes, and bounds it too", async () => {
    const fifo = join(dir, "in.fifo");
    execFileSync("mkfifo", [fifo]);
    const reading = readInput(fifo);
    // The writer opens the FIFO only after tsp11 has opened it (a reader-first FIFO).
    setTimeout(() => {
      writeFileSync(fifo, "from a fifo");
    }, 50);
    expect(Buffer.from(await reading).toString()).toBe("from a fifo");

    const bounded = readInput(fifo, "input", 10);
    setTimeout(() => {
      spawn("sh", ["-c", `head -c 100000 /dev/zero > '${fifo}'`]);
    }, 50);
    await expect(bounded).rejects.toThrow("larger than 10 bytes");
  });

  it("names a missing file and a directory (exit 2)", async () => {
    await expect(readInput(join(dir, "absent"), "request")).rejects.toThrow(
      new TspError("usage", `read request ${join(dir, "absent")}: no such file`),
    );
    await expect(readInput(dir)).rejects.toThrow(`read input ${dir}: is a directory`);
  });
});

describe("writeOutput", () => {
  it("replaces a regular file whole, keeping its mode, and leaves no temporary file", async () => {
    const out = join(dir, "x.sig");
    writeFileSync(out, "old");
    chmodSync(out, 0o640);
    await writeOutput(out, Buffer.from("new signature"), "signature");
    expect(readFileSync(out, "utf8")).toBe("new signature");
    expect(modeOf(out)).toBe(0o640);
    chmodSync(out, 0o600);
    await writeOutput(out, "again", "signature");
    expect(modeOf(out)).toBe(0o600);
    expect(temporaries()).toEqual([]);
  });

  it("creates a secret 0600 and anything else with the umask's mode", async () => {
    const secret = join(dir, "secret.bin");
    const plain = join(dir, "plain.pem");
    await writeOutput(secret, "s3cret", "data", { secret: true });
    await writeOutput(plain, "public", "cert");
    expect(modeOf(secret)).toBe(0o600);
    const reference = join(dir, "reference");
    writeFileSync(reference, ""); // created 0666 less the umask
    expect(modeOf(plain)).toBe(modeOf(reference));
  });

  it("writes a symlink's target and keeps the link; a dangling link's target is created", async () => {
    const target = join(dir, "target.pem");
    const link = join(dir, "link.pem");
    writeFileSync(target, "old");
    chmodSync(target, 0o640);
    symlinkSync("target.pem", link);
    await writeOutput(link, "through the link");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe("target.pem");
    expect(readFileSync(target, "utf8")).toBe("through the link");
    expect(modeOf(target)).toBe(0o640);

    const dangling = join(dir, "dangling.pem");
    symlinkSync("created.pem", dangling);
    await writeOutput(dangling, "new target", "data", { secret: true });
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, "created.pem"), "utf8")).toBe("new target");
    expect(modeOf(join(dir, "created.pem"))).toBe(0o600);
  });

  it("writes a FIFO through: its reader gets the bytes, the FIFO stays", async () => {
    const fifo = join(dir, "out.fifo");
    const received = fifoReader(fifo);
    const big = Buffer.alloc(300_000, 7); // more than a pipe holds: written as the reader drains
    await writeOutput(fifo, big, "signature");
    expect((await received).equals(big)).toBe(true);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it.skipIf(!isRoot)("writes a character device through and never replaces it", async () => {
    const device = join(dir, "null");
    execFileSync("mknod", [device, "c", "1", "3"]);
    await writeOutput(device, "into the void", "signature");
    expect(lstatSync(device).isCharacterDevice()).toBe(true);
    expect(temporaries()).toEqual([]);
  });

  it("turns a full device into one line, exit 1", async () => {
    await expect(writeOutput("/dev/full", "x", "certificate request")).rejects.toThrow(
      new TspError("failure", "write certificate request /dev/full: no space left on device"),
    );
  });

  it("fails with exit 1 and nothing left behind when the directory is missing", async () => {
    const out = join(dir, "no-such-dir", "x.sig");
    await expect(writeOutput(out, Buffer.from("sig"), "signature")).rejects.toThrow(
      /write signature .*no such file/,
    );
    await expect(writeOutput(dir, "x", "signature")).rejects.toThrow(
      `write signature ${dir}: is a directory`,
    );
    expect(temporaries()).toEqual([]);
  });

  it("steps around stale temporary files of a crashed run and leaves them alone", async () => {
    const sub = mkdtempSync(join(dir, "stale-"));
    const out = join(sub, "y.sig");
    // Every name this process would try first for the next 200 writes.
    const stale = Array.from({ length: 200 }, (_, n) => `.y.sig.${process.pid}.${n}.tmp`);
    for (const name of stale) writeFileSync(join(sub, name), "stale");
    await writeOutput(out, Buffer.from("fresh"), "signature");
    expect(readFileSync(out, "utf8")).toBe("fresh");
    expect(temporaries(sub).sort()).toEqual(stale.sort());
  });
});
