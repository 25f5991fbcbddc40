/**
 * `random`, `digest` and HMAC in `sign`/`verify` on a real SoftHSM token, judged by openssl
 * (`openssl dgst`, `openssl mac`) over secret keys whose bytes the test knows.
 */
import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken, withPkcs11js } from "../helpers/softhsm.js";

const available = softhsmAvailable();

/** HMAC keys of SoftHSM's minimum sizes per hash (it refuses shorter ones). */
const HMAC_KEYS = [
  { label: "h256", id: "31", bytes: 32, hash: "SHA256" },
  { label: "h384", id: "32", bytes: 48, hash: "SHA384" },
  { label: "h512", id: "33", bytes: 64, hash: "SHA512" },
].map((key) => ({ ...key, value: randomBytes(key.bytes) }));

describe.skipIf(!available)("random, digest, HMAC", () => {
  let token: TempToken;

  async function openssl(args: string[]): Promise<string> {
    const result = await token.exec("openssl", args);
    if (result.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  }

  beforeAll(async () => {
    token = await tempToken({ label: "basics" });
    const creates = HMAC_KEYS.map(
      (key) => `p.C_CreateObject(s, [
        { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
        { type: p11.CKA_KEY_TYPE, value: p11.CKK_GENERIC_SECRET },
        { type: p11.CKA_TOKEN, value: true },
        { type: p11.CKA_LABEL, value: ${JSON.stringify(key.label)} },
        { type: p11.CKA_ID, value: Buffer.from(${JSON.stringify(key.id)}, "hex") },
        { type: p11.CKA_SIGN, value: true },
        { type: p11.CKA_VERIFY, value: true },
        { type: p11.CKA_VALUE, value: Buffer.from(${JSON.stringify(key.value.toString("hex"))}, "hex") },
      ]);`,
    );
    await withPkcs11js(token, creates.join("\n"));
    await writeFile(token.path("data.txt"), "tsp11 hashes and MACs this line.\n");
  });

  afterAll(async () => {
    await token[Symbol.asyncDispose]();
  });

  it("random: the asked number of bytes, binary, hex or JSON; 0 and 1 MiB + 1 refused", async () => {
    const binary = await token.tsp11(["random", "48"]);
    expect(binary.code).toBe(0);
    expect(binary.stdoutBytes.length).toBe(48);
    const hex = await token.tsp11(["random", "16", "--encoding", "hex"]);
    expect(hex.stdout).toMatch(/^[0-9a-f]{32}\n$/);
    const json = await token.tsp11(["random", "1048576", "--json"]);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { length: number; randomBase64: string };
    expect(parsed.length).toBe(1048576);
    expect(Buffer.from(parsed.randomBase64, "base64").length).toBe(1048576);
    const file = token.path("seed.bin");
    expect((await token.tsp11(["random", "32", "--output", file])).code).toBe(0);
    expect((await readFile(file)).length).toBe(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    for (const bad of ["0", "1048577", "abc", "-3"]) {
      const refused = await token.tsp11(["random", "--", bad]);
      expect(refused.code, bad).toBe(2);
      expect(refused.stderr).toMatch(/invalid byte count/);
    }
  });

  it("digest: equals openssl dgst for each hash, from a file and from stdin", async () => {
    const data = token.path("data.txt");
    for (const hash of ["sha256", "sha384", "sha512"]) {
      const expected = (await openssl(["dgst", `-${hash}`, "-r", data])).split(" ")[0];
      const fromFile = await token.tsp11([
        "digest",
        "-m",
        hash,
        "--input",
        data,
        "--encoding",
        "hex",
      ]);
      expect(fromFile.stdout.trim()).toBe(expected);
      const fromStdin = await token.tsp11(["digest", "-m", hash], { input: await readFile(data) });
      expect(fromStdin.stdoutBytes.toString("hex")).toBe(expected);
    }
    const json = await token.tsp11(["digest", "--input", data, "--json"]);
    const expected = (await openssl(["dgst", "-sha256", "-r", data])).split(" ")[0];
    expect(JSON.parse(json.stdout)).toEqual({ mechanism: "sha256", digestHex: expected });
    const unknown = await token.tsp11(["digest", "-m", "md4", "--input", data]);
    expect(unknown.code).toBe(2);
  });

  it("digest streams a multi-chunk input", async () => {
    const big = token.path("big.bin");
    await writeFile(big, randomBytes(3 * 1024 * 1024 + 17));
    const expected = (await openssl(["dgst", "-sha512", "-r", big])).split(" ")[0];
    const result = await token.tsp11([
      "digest",
      "-m",
      "sha512",
      "--input",
      big,
      "--encoding",
      "hex",
    ]);
    expect(result.stdout.trim()).toBe(expected);
  });

  it("HMAC: sign equals openssl mac; verify accepts it and rejects a changed message (exit 7)", async () => {
    const data = token.path("data.txt");
    for (const key of HMAC_KEYS) {
      const mechanism = `${key.hash}-HMAC`;
      const expected = await openssl([
        "mac",
        "-digest",
        key.hash,
        "-macopt",
        `hexkey:${key.value.toString("hex")}`,
        "-in",
        data,
        "HMAC",
      ]);
      const signed = await token.tsp11([
        "sign",
        "--pin",
        PIN,
        "-i",
        key.label,
        "-m",
        mechanism,
        "--input",
        data,
        "--encoding",
        "hex",
      ]);
      expect(signed.stderr).toBe("");
      expect(signed.stdout.trim()).toBe(expected.trim().toLowerCase());
      const mac = token.path(`${key.label}.mac`);
      await writeFile(mac, Buffer.from(expected.trim(), "hex"));
      const verified = await token.tsp11([
        "verify",
        "--pin",
        PIN,
        "--id",
        key.id,
        "-m",
        mechanism,
        "--input",
        data,
        "--signature",
        mac,
        "--json",
      ]);
      expect(verified.code).toBe(0);
      expect(JSON.parse(verified.stdout)).toEqual({ valid: true, mechanism });
      const changed = await token.tsp11(
        ["verify", "--pin", PIN, "-i", key.label, "-m", mechanism, "--signature", mac],
        { input: "another message\n" },
      );
      expect(changed.code).toBe(7);
    }
  });

  it("HMAC is the default for a generic-secret key; RSA mechanisms are refused for it (exit 2)", async () => {
    const data = token.path("data.txt");
    const defaulted = await token.tsp11([
      "sign",
      "--pin",
      PIN,
      "-i",
      "h256",
      "--input",
      data,
      "--json",
    ]);
    expect(JSON.parse(defaulted.stdout)).toMatchObject({
      mechanism: "SHA256-HMAC",
      keyLabel: "h256",
    });
    const wrong = await token.tsp11([
      "sign",
      "--pin",
      PIN,
      "-i",
      "h256",
      "-m",
      "SHA256-RSA-PKCS",
      "--input",
      data,
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/SHA256-RSA-PKCS needs an RSA key.*SHA256-HMAC/);
  });
});
