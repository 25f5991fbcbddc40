/**
 * One option vocabulary on a real token: the shared names (-k/--key, --input, -o/--output)
 * work, the old spellings (-i, -f/--file, --out) still do and give the same results, and an
 * old and a new spelling with different values is exit 2 with nothing written.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import { softhsmAvailable, storeSnapshot, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();
const PIN = "Vocab-pin-4417";
const DATA = "tsp11 signs this line.\n";

describe.skipIf(!available)("option vocabulary", () => {
  let token: TempToken;

  async function ok(args: string[]): Promise<RunResult> {
    const result = await token.tsp11(["--pin", PIN, ...args]);
    if (result.code !== 0) {
      throw new Error(`tsp11 ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
    }
    return result;
  }

  async function openssl(args: string[]): Promise<RunResult> {
    const result = await token.exec("openssl", args);
    if (result.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
    return result;
  }

  beforeAll(async () => {
    token = await tempToken({ pin: PIN });
    await ok(["keygen", "--key-type", "rsa:2048", "--label", "key-1", "--id", "01"]);
    await ok(["keygen", "--key-type", "ec:prime256v1", "--label", "key-2", "--id", "02"]);
    await writeFile(token.path("data.txt"), DATA);
  }, 60_000);

  afterAll(async () => {
    await token[Symbol.asyncDispose]();
  });

  it.each([["--output"], ["-o"], ["--out"]])("req %s writes the request", async (flag) => {
    const file = token.path(`req${flag}.csr`);
    const result = await ok(["req", "-k", "key-1", "-d", "/CN=vocab", flag, file]);
    expect(result.stdout).toBe("");
    await openssl(["req", "-in", file, "-noout", "-verify"]);
  });

  it.each([["--output"], ["--out"]])("cert %s writes the certificate", async (flag) => {
    const file = token.path(`cert${flag}.pem`);
    await ok(["cert", "--key", "key-1", "-d", "/CN=vocab", flag, file]);
    const cert = new X509Certificate(await readFile(file));
    expect(cert.subject).toBe("CN=vocab");
  });

  it("write-object takes -f, --input and the old --file alike; read-object -o, --output and --out", async () => {
    const pem = await readFile(token.path("cert--output.pem"));
    const der = new X509Certificate(pem).raw;
    for (const flag of ["-f", "--file", "--input"]) {
      await ok(["write-object", "--type", "cert", flag, token.path("cert--output.pem"), "--force"]);
      for (const out of ["-o", "--output", "--out"]) {
        const file = token.path(`read${flag}${out}.der`);
        await ok(["read-object", "--type", "cert", "--id", "01", "--der", out, file]);
        expect(Buffer.compare(await readFile(file), der)).toBe(0);
      }
    }
  });

  it("sign -k, -i, -o, --output and --input give the same signature, which openssl accepts", async () => {
    const runs = [
      ["-k", "key-1", "--input", "data.txt", "-o", "s1.sig"],
      ["--key", "key-1", "--input", "data.txt", "--output", "s2.sig"],
      ["-i", "key-1", "-f", "data.txt", "--out", "s3.sig"],
      ["-i", "key-1", "--input", "data.txt", "-o", "s4.sig"],
    ];
    for (const args of runs) await ok(["sign", ...args.map(inDir)]);
    const signatures = await Promise.all(
      ["s1.sig", "s2.sig", "s3.sig", "s4.sig"].map((name) => readFile(token.path(name))),
    );
    for (const signature of signatures)
      expect(signature.equals(signatures[0] as Buffer)).toBe(true);
    await ok(["read-object", "--type", "pubkey", "--id", "01", "-o", inDir("k1.pub")]);
    await openssl([
      "dgst",
      "-sha256",
      "-verify",
      token.path("k1.pub"),
      "-signature",
      token.path("s1.sig"),
      token.path("data.txt"),
    ]);
    const verified = await ok([
      "verify",
      "-i",
      "key-1",
      "-f",
      inDir("data.txt"),
      "--signature",
      inDir("s3.sig"),
    ]);
    expect(verified.stdout).toContain("Signature is valid");
    await ok([
      "verify",
      "-k",
      "key-1",
      "--input",
      inDir("data.txt"),
      "--signature",
      inDir("s3.sig"),
    ]);
  });

  it.each([
    [
      ["req", "-k", "key-1", "-d", "/CN=x", "--out", "a.csr", "--output", "b.csr"],
      "--out is the old name of -o/--output",
    ],
    [
      ["sign", "-i", "key-1", "-k", "key-2", "--input", "data.txt", "-o", "c.sig"],
      "-i is the old name of -k/--key",
    ],
    [
      ["sign", "-k", "key-1", "-f", "data.txt", "--input", "other.txt", "-o", "d.sig"],
      "-f/--file is the old name of --input",
    ],
    [
      ["write-object", "--type", "data", "-f", "data.txt", "--file", "other.txt", "--label", "d"],
      "--file is the old name of -f/--input",
    ],
  ])("%j is exit 2, one line, nothing written", async (args, message) => {
    const before = await storeSnapshot(token);
    const result = await token.tsp11(["--pin", PIN, ...args.map(inDir)]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringContaining(message)]);
    expect(result.stderr).not.toContain(PIN);
    for (const name of ["a.csr", "b.csr", "c.sig", "d.sig"])
      expect(existsSync(token.path(name))).toBe(false);
    expect(await storeSnapshot(token)).toBe(before);
  });

  /** File arguments of the test live in the token's temporary directory. */
  function inDir(word: string): string {
    return /\.(txt|csr|sig|pub|pem|der)$/.test(word) ? token.path(word) : word;
  }
});
