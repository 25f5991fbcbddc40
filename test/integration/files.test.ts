/**
 * The contract's "Files" through the built CLI: outputs written through unless a regular file
 * (devices, FIFOs, symlinks), modes kept and secrets 0600, write errors one line and exit 1,
 * inputs bounded while read, and signals honoured while an input is awaited.
 */
import type { ChildProcess, StdioOptions } from "node:child_process";
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  constants,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import { BIN, PIN, softhsmAvailable, storeSnapshot, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();
const isRoot = process.getuid?.() === 0;
const modeOf = (path: string): number => statSync(path).mode & 0o7777;

/** tsp11 with the given stdio (file descriptors), for stdout/stdin that are not pipes. */
function spawnTsp11(token: TempToken, args: string[], stdio: StdioOptions): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env: token.env, stdio });
}

async function finish(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stderr };
}

/** One line, no stack trace: what every refused or failed run prints. */
function oneLine(stderr: string): void {
  expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe.skipIf(!available)("files", () => {
  let token: TempToken;
  const run = (args: string[], input?: Buffer | string): Promise<RunResult> =>
    token.tsp11(args, input === undefined ? {} : { input });
  const sign = (args: string[]) => run(["sign", "-i", "k", "--pin", PIN, ...args], "data\n");
  /** Checks a signature file against the data with tsp11 verify (exit 0 = it matches). */
  const verifies = async (signature: string) =>
    (await run(["verify", "-i", "k", "--signature", signature], "data\n")).code === 0;

  beforeAll(async () => {
    token = await tempToken();
    const keygen = await run(["keygen", "--key-type", "ec:P-256", "--label", "k", "--pin", PIN]);
    expect(keygen.code).toBe(0);
    const secret = token.path("secret.txt");
    writeFileSync(secret, "private value");
    const store = (label: string, ...extra: string[]) =>
      run([
        "write-object",
        "--pin",
        PIN,
        "--type",
        "data",
        "-f",
        secret,
        "--label",
        label,
        ...extra,
      ]);
    expect((await store("priv", "--private")).code).toBe(0);
    expect((await store("pub")).code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await token[Symbol.asyncDispose]();
  });

  describe("outputs", () => {
    it.skipIf(!isRoot)("writes a character device through: it stays a device", async () => {
      const device = token.path("null");
      execFileSync("mknod", [device, "c", "1", "3"]);
      const signed = await sign(["--output", device]);
      expect(signed.code).toBe(0);
      expect(lstatSync(device).isCharacterDevice()).toBe(true);
      expect(lstatSync(device).rdev).toBe(lstatSync("/dev/null").rdev);
      expect((await readdir(token.dir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    });

    it("writes a FIFO through: its reader receives the signature", async () => {
      const fifo = token.path("sig.fifo");
      execFileSync("mkfifo", [fifo]);
      const cat = spawn("sh", ["-c", `cat '${fifo}' > '${token.path("from-fifo.sig")}'`]);
      const catDone = new Promise((resolve) => cat.on("close", resolve));
      const signed = await sign(["--output", fifo]);
      expect(signed.code).toBe(0);
      await catDone;
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      expect(statSync(token.path("from-fifo.sig")).size).toBeGreaterThan(0);
      expect(await verifies(token.path("from-fifo.sig"))).toBe(true);
    });

    it("follows a symlink: the link stays, its target gets the signature", async () => {
      const target = token.path("target.sig");
      const link = token.path("link.sig");
      writeFileSync(target, "old");
      symlinkSync("target.sig", link);
      expect((await sign(["--output", link])).code).toBe(0);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readlinkSync(link)).toBe("target.sig");
      expect(await verifies(target)).toBe(true);
    });

    it("keeps an existing file's mode (0600, 0640)", async () => {
      for (const mode of [0o600, 0o640]) {
        const out = token.path(`mode-${mode.toString(8)}.sig`);
        writeFileSync(out, "old");
        chmodSync(out, mode);
        expect((await sign(["--output", out])).code).toBe(0);
        expect(modeOf(out)).toBe(mode);
        expect(await verifies(out)).toBe(true);
      }
      const csr = token.path("kept.csr");
      writeFileSync(csr, "old");
      chmodSync(csr, 0o640);
      expect((await run(["req", "-i", "k", "-d", "/CN=k", "--pin", PIN, "-o", csr])).code).toBe(0);
      expect(modeOf(csr)).toBe(0o640);
      expect(readFileSync(csr, "utf8")).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    });

    it("creates a private data object's file 0600, a public one's with the umask", async () => {
      const secret = token.path("priv.out");
      const plain = token.path("pub.out");
      const reference = token.path("reference");
      writeFileSync(reference, ""); // 0666 less the umask
      const read = (label: string, out: string) =>
        run(["read-object", "--type", "data", "--label", label, "--pin", PIN, "-o", out]);
      expect((await read("priv", secret)).code).toBe(0);
      expect((await read("pub", plain)).code).toBe(0);
      expect(readFileSync(secret, "utf8")).toBe("private value");
      expect(modeOf(secret)).toBe(0o600);
      expect(modeOf(plain)).toBe(modeOf(reference));
      // The JSON is unchanged by how the file was written.
      const json = await run([
        "read-object",
        "--type",
        "data",
        "--label",
        "priv",
        "--pin",
        PIN,
        "-o",
        secret,
        "--json",
      ]);
      expect(Object.keys(JSON.parse(json.stdout) as object)).not.toContain("secret");
    });

    it("takes -o - as stdout", async () => {
      const csr = await run(["req", "-i", "k", "-d", "/CN=k", "--pin", PIN, "-o", "-"]);
      expect(csr.code).toBe(0);
      expect(csr.stdout).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
      expect(readdirSync(token.dir)).not.toContain("-");
    });
  });

  describe("write errors", () => {
    const full = (): number => openSync("/dev/full", "w");

    it("a full disk on stdout or a file is one line, exit 1", async () => {
      for (const args of [
        ["sign", "-i", "k", "--pin", PIN, "--input", token.path("secret.txt")],
        ["list-objects"],
        ["read-object", "--type", "data", "--label", "pub"],
      ]) {
        const fd = full();
        const { code, stderr } = await finish(spawnTsp11(token, args, ["ignore", fd, "pipe"]));
        closeSync(fd);
        expect(code).toBe(1);
        expect(stderr).toBe("tsp11: write stdout: no space left on device\n");
      }
      const req = await run(["req", "-i", "k", "-d", "/CN=k", "--pin", PIN, "-o", "/dev/full"]);
      expect(req.code).toBe(1);
      expect(req.stderr).toBe(
        "tsp11: write certificate request /dev/full: no space left on device\n",
      );
    });

    it("with --json the error is the JSON error object", async () => {
      const fd = full();
      const child = spawnTsp11(token, ["list-objects", "--json"], ["ignore", fd, "pipe"]);
      const { code, stderr } = await finish(child);
      closeSync(fd);
      expect(code).toBe(1);
      expect(JSON.parse(stderr)).toMatchObject({
        error: { code: "failure", exit: 1, message: "write stdout: no space left on device" },
      });
    });

    /** A FIFO opened for writing, its only reader closed: every write fails with EPIPE. */
    const readerGone = (name: string): number => {
      const fifo = token.path(name);
      execFileSync("mkfifo", [fifo]);
      const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const writer = openSync(fifo, constants.O_WRONLY);
      closeSync(reader);
      return writer;
    };

    it("a stdout whose reader is gone (EPIPE) is one line, exit 1, help and --version too", async () => {
      for (const [k, args] of [
        ["list-objects"],
        ["list-slots", "--help"],
        ["--version"],
      ].entries()) {
        const writer = readerGone(`closed-${k}.fifo`);
        const child = spawnTsp11(token, args, ["ignore", writer, "pipe"]);
        const { code, stderr } = await finish(child);
        closeSync(writer);
        expect(code, args.join(" ")).toBe(1);
        expect(stderr).toBe("tsp11: write stdout: broken pipe (the reader closed it)\n");
      }
    });

    it("a stderr that cannot be written (full, reader gone) keeps the run's exit code", async () => {
      const gone = readerGone("closed-stderr.fifo");
      // Both are written directly (write(2)); both drop the line.
      for (const fd of [full(), gone]) {
        const child = spawnTsp11(
          token,
          ["list-objects", "--pin", "0000"],
          ["ignore", "ignore", fd],
        );
        const { code } = await finish(child);
        closeSync(fd);
        expect(code).toBe(4);
      }
    });

    it("a file in a missing directory: one line, exit 1, nothing written", async () => {
      const signed = await sign(["--output", token.path("missing/x.sig")]);
      expect(signed.code).toBe(1);
      oneLine(signed.stderr);
      expect(signed.stderr).toMatch(/^tsp11: write signature .*missing\/x\.sig: no such file\n$/);
    });
  });

  describe("bounded inputs", () => {
    it("refuses /dev/zero and /dev/urandom at the bound (exit 2), the token unchanged", async () => {
      const before = await storeSnapshot(token);
      for (const device of ["/dev/zero", "/dev/urandom"]) {
        const result = await run(["write-object", "--pin", PIN, "--type", "cert", "-f", device]);
        expect(result.code).toBe(2);
        expect(result.stderr).toBe(`tsp11: read input file ${device}: larger than 64 MiB\n`);
      }
      const pin = await run(["list-objects", "--pin-file", "/dev/zero"]);
      expect(pin.code).toBe(2);
      expect(pin.stderr).toBe("tsp11: read PIN file /dev/zero: larger than 1 MiB\n");
      expect(await storeSnapshot(token)).toBe(before);
    });

    it("refuses an endless stdin and an endless FIFO (exit 2)", async () => {
      const zero = openSync("/dev/zero", "r");
      const args = ["write-object", "--pin", PIN, "--type", "cert", "-f", "-"];
      const stdin = await finish(spawnTsp11(token, args, [zero, "ignore", "pipe"]));
      closeSync(zero);
      expect(stdin.code).toBe(2);
      expect(stdin.stderr).toBe("tsp11: read input file from stdin: larger than 64 MiB\n");

      const fifo = token.path("endless.fifo");
      execFileSync("mkfifo", [fifo]);
      const writer = spawn("sh", ["-c", `cat /dev/zero > '${fifo}'`]);
      const result = await run(["write-object", "--pin", PIN, "--type", "cert", "-f", fifo]);
      writer.kill();
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`tsp11: read input file ${fifo}: larger than 64 MiB\n`);
    });
  });

  describe("signals while waiting on an input", () => {
    /** Starts tsp11 reading `fifo` (which has no writer) and waits until it has it open. */
    async function waitingOn(fifo: string, args: string[]): Promise<ChildProcess> {
      execFileSync("mkfifo", [fifo]);
      const child = spawnTsp11(token, args, ["ignore", "ignore", "pipe"]);
      await vi.waitFor(() => {
        const fds = readdirSync(`/proc/${String(child.pid)}/fd`).map((fd) => {
          try {
            return readlinkSync(`/proc/${String(child.pid)}/fd/${fd}`);
          } catch {
            return "";
          }
        });
        expect(fds).toContain(fifo);
      }, 10_000);
      return child;
    }

    for (const [signal, what] of [
      ["SIGTERM", "write-object -f"],
      ["SIGINT", "write-object -f"],
      ["SIGTERM", "--pin-file"],
      ["SIGINT", "sign --input"],
    ] as const) {
      it(`${signal} ends ${what} <FIFO without a writer> with exit 130`, async () => {
        const fifo = token.path(`wait-${signal}-${what.replace(/\W/g, "")}.fifo`);
        const args =
          what === "write-object -f"
            ? ["write-object", "--pin", PIN, "--type", "cert", "-f", fifo]
            : what === "--pin-file"
              ? ["list-objects", "--pin-file", fifo]
              : ["sign", "-i", "k", "--pin", PIN, "--input", fifo];
        const child = await waitingOn(fifo, args);
        child.kill(signal);
        const { code, stderr } = await finish(child);
        expect(code).toBe(130);
        expect(stderr).toMatch(/tsp11: interrupted\n$/);
      });
    }
  });
});
