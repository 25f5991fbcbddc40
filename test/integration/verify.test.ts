/**
 * `tsp11 verify` on a real SoftHSM token: signatures made by tsp11 and by pkcs11-tool (the
 * oracle) pass with exit 0; tampered, truncated or foreign ones fail with exit 7, never 0.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import { softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

const PIN = "Verify-pin-4417";
const DATA = "tsp11 verifies this line.\n";

describe.skipIf(!available)("verify", () => {
  let token: TempToken;
  const outputs: RunResult[] = [];

  async function run(args: string[], input?: string | Buffer): Promise<RunResult> {
    const result = await token.tsp11(args, input === undefined ? {} : { input });
    outputs.push(result);
    return result;
  }

  async function ok(args: string[], input?: string | Buffer): Promise<RunResult> {
    const result = await run(args, input);
    if (result.code !== 0)
      throw new Error(`tsp11 ${args[0] ?? ""} failed (${result.code}): ${result.stderr}`);
    return result;
  }

  async function tool(args: string[]): Promise<void> {
    const result = await token.pkcs11Tool(args);
    if (result.code !== 0) throw new Error(`pkcs11-tool failed: ${result.stderr}`);
  }

  const data = () => token.path("data.txt");
  const file = (name: string) => token.path(name);

  async function flipped(source: string, name: string, at: number): Promise<string> {
    const bytes = await readFile(source);
    const index = at < 0 ? bytes.length + at : at;
    bytes[index] = (bytes[index] ?? 0) ^ 0x01;
    await writeFile(file(name), bytes);
    return file(name);
  }

  beforeAll(async () => {
    token = await tempToken({ label: "verify", pin: PIN });
    for (const [keyType, label, id] of [
      ["rsa:2048", "rk", "01"],
      ["ec:prime256v1", "ek", "02"],
      ["rsa:2048", "pubonly", "03"],
    ] as const) {
      await ok(["keygen", "--pin", PIN, "--key-type", keyType, "--label", label, "--id", id]);
    }
    await writeFile(data(), DATA);
    await writeFile(file("data.sha256"), createHash("sha256").update(DATA).digest());
    // pkcs11-tool's signatures, the independent side.
    const login = ["--token-label", "verify", "--login", "--pin", PIN, "--sign"];
    await tool([
      ...login,
      "-m",
      "SHA256-RSA-PKCS",
      "--id",
      "01",
      "-i",
      data(),
      "-o",
      file("p11.sig"),
    ]);
    await tool([
      ...login,
      ...["-m", "SHA256-RSA-PKCS-PSS", "--mgf", "MGF1-SHA256", "--salt-len", "-1", "--id", "01"],
      ...["-i", data(), "-o", file("p11-pss.sig")],
    ]);
    await tool([
      ...login,
      "-m",
      "ECDSA",
      "--id",
      "02",
      "-i",
      file("data.sha256"),
      "-o",
      file("p11-ec.rs"),
    ]);
    await tool([
      ...login,
      ...["-m", "ECDSA", "--id", "02", "--signature-format", "openssl"],
      ...["-i", file("data.sha256"), "-o", file("p11-ec.der")],
    ]);
    // A signature by the key that will be left with its public half only.
    await ok([
      "sign",
      "--pin",
      PIN,
      "-i",
      "pubonly",
      "--input",
      data(),
      "--output",
      file("pubonly.sig"),
    ]);
    await tool([
      "--token-label",
      "verify",
      "--login",
      "--pin",
      PIN,
      "--delete-object",
      "--type",
      "privkey",
      "--id",
      "03",
    ]);
  });

  afterAll(async () => {
    await token[Symbol.asyncDispose]();
  });

  it("accepts pkcs11-tool's SHA256-RSA-PKCS signature (exit 0)", async () => {
    const result = await ok([
      "verify",
      "--pin",
      PIN,
      "-i",
      "rk",
      "--input",
      data(),
      "--signature",
      file("p11.sig"),
    ]);
    expect(result.stdout).toBe("Signature is valid (SHA256-RSA-PKCS)\n");
  });

  it("accepts PSS with the same options as sign", async () => {
    const result = await ok([
      ...["verify", "-i", "rk", "-m", "SHA256-RSA-PKCS-PSS", "--salt-len", "-1"],
      ...["--input", data(), "--signature", file("p11-pss.sig"), "--json"],
    ]);
    expect(JSON.parse(result.stdout)).toEqual({ valid: true, mechanism: "SHA256-RSA-PKCS-PSS" });
  });

  it("accepts ECDSA signatures as DER, as raw r‖s (--format raw), and raw ones found by length", async () => {
    const der = await ok([
      "verify",
      "-i",
      "ek",
      "--input",
      data(),
      "--signature",
      file("p11-ec.der"),
      "--json",
    ]);
    expect(JSON.parse(der.stdout)).toEqual({ valid: true, mechanism: "ECDSA-SHA256" });
    await ok([
      "verify",
      "-i",
      "ek",
      "--format",
      "raw",
      "--input",
      data(),
      "--signature",
      file("p11-ec.rs"),
    ]);
    await ok(["verify", "-i", "ek", "--input", data(), "--signature", file("p11-ec.rs")]);
    // The raw mechanism over the digest itself.
    await ok([
      "verify",
      "-i",
      "ek",
      "-m",
      "ECDSA",
      "--input",
      file("data.sha256"),
      "--signature",
      file("p11-ec.der"),
    ]);
  });

  it("takes the data from stdin and the signature as base64 text", async () => {
    const sig = await readFile(file("p11.sig"));
    await writeFile(file("p11.b64"), `${sig.toString("base64")}\n`);
    await ok(["verify", "-i", "rk", "--signature", file("p11.b64"), "--encoding", "base64"], DATA);
  });

  it("needs only the public key object, and no PIN, to verify", async () => {
    const listing = await token.pkcs11Tool([
      "--token-label",
      "verify",
      "--login",
      "--pin",
      PIN,
      "-O",
      "--type",
      "privkey",
    ]);
    expect(listing.stdout).not.toContain("pubonly");
    const result = await ok([
      "verify",
      "-i",
      "pubonly",
      "--input",
      data(),
      "--signature",
      file("pubonly.sig"),
    ]);
    expect(result.stdout).toBe("Signature is valid (SHA256-RSA-PKCS)\n");
  });

  describe("exit 7 when the signature does not match", () => {
    async function mismatch(args: string[], input?: string): Promise<RunResult> {
      const result = await run(["verify", ...args], input);
      expect(result.code).toBe(7);
      return result;
    }

    it("a tampered RSA signature", async () => {
      const bad = await flipped(file("p11.sig"), "bad.sig", 100);
      const result = await mismatch(["-i", "rk", "--input", data(), "--signature", bad]);
      expect(result.stdout).toBe("");
      expect(result.stderr).toBe(
        "tsp11: verify signature: the signature does not match (SHA256-RSA-PKCS)\n",
      );
    });

    it("tampered data", async () => {
      await mismatch(["-i", "rk", "--signature", file("p11.sig")], `${DATA}!`);
    });

    it("a truncated signature (CKR_SIGNATURE_LEN_RANGE)", async () => {
      const sig = await readFile(file("p11.sig"));
      await writeFile(file("short.sig"), sig.subarray(0, 200));
      await mismatch(["-i", "rk", "--input", data(), "--signature", file("short.sig")]);
    });

    it("a tampered ECDSA signature, DER and raw, and DER that does not parse", async () => {
      await mismatch([
        "-i",
        "ek",
        "--input",
        data(),
        "--signature",
        await flipped(file("p11-ec.der"), "bad-ec.der", -3),
      ]);
      await mismatch([
        "-i",
        "ek",
        "--format",
        "raw",
        "--input",
        data(),
        "--signature",
        await flipped(file("p11-ec.rs"), "bad-ec.rs", 5),
      ]);
      await mismatch([
        "-i",
        "ek",
        "--format",
        "der",
        "--input",
        data(),
        "--signature",
        file("p11-ec.rs"),
      ]);
    });

    it("another key's signature, reported in JSON on stdout and as the error on stderr", async () => {
      const result = await mismatch([
        "-i",
        "rk",
        "--input",
        data(),
        "--signature",
        file("pubonly.sig"),
        "--json",
      ]);
      expect(JSON.parse(result.stdout)).toEqual({ valid: false, mechanism: "SHA256-RSA-PKCS" });
      expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: "verify", exit: 7 } });
    });
  });

  it("checks FILE... against FILE.sig, exit 7 when any fails", async () => {
    const names = ["one.txt", "two.txt", "three.txt"].map(file);
    for (const name of names) await writeFile(name, `${name}\n`);
    await ok(["sign", "--pin", PIN, "-i", "rk", ...names]);
    const good = await ok(["verify", "-i", "rk", "--json", ...names]);
    expect(JSON.parse(good.stdout)).toEqual(
      names.map((name) => ({ file: name, signature: `${name}.sig`, valid: true })),
    );
    await writeFile(names[1] ?? "", "changed\n");
    const bad = await run(["verify", "-i", "rk", ...names]);
    expect(bad.code).toBe(7);
    expect(bad.stdout).toBe(
      `${names[0] ?? ""}: OK\n${names[1] ?? ""}: FAILED\n${names[2] ?? ""}: OK\n`,
    );
    expect(bad.stderr).toContain("1 of 3 do not match");
  });

  describe("usage and lookup errors", () => {
    it("a missing signature file: exit 2", async () => {
      const result = await run([
        "verify",
        "-i",
        "rk",
        "--input",
        data(),
        "--signature",
        file("absent.sig"),
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`tsp11: read signature ${file("absent.sig")}: no such file\n`);
    });

    it("no --signature and no FILE: exit 2", async () => {
      const result = await run(["verify", "-i", "rk"], DATA);
      expect(result.code).toBe(2);
    });

    it("a missing key: exit 3", async () => {
      const result = await run([
        "verify",
        "-i",
        "nope",
        "--input",
        data(),
        "--signature",
        file("p11.sig"),
      ]);
      expect(result.code).toBe(3);
      expect(result.stderr).toBe('tsp11: find key: no public key with label "nope" on the token\n');
    });

    it("a mechanism the key cannot do: exit 2", async () => {
      const result = await run([
        "verify",
        "-i",
        "ek",
        "-m",
        "SHA256-RSA-PKCS",
        "--input",
        data(),
        "--signature",
        file("p11.sig"),
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("can use: ECDSA, ECDSA-SHA256, ECDSA-SHA384, ECDSA-SHA512");
    });

    it("a wrong PIN: exit 4", async () => {
      const before = await readdir(token.dir);
      const result = await run([
        "verify",
        "--pin",
        "0000",
        "-i",
        "rk",
        "--input",
        data(),
        "--signature",
        file("p11.sig"),
      ]);
      expect(result.code).toBe(4);
      expect(await readdir(token.dir)).toEqual(before);
    });
  });

  it("never prints the PIN", () => {
    expect(outputs.length).toBeGreaterThan(15);
    for (const result of outputs) {
      expect(result.stdout).not.toContain(PIN);
      expect(result.stderr).not.toContain(PIN);
    }
  });
});
