/** read-object for keys: extractable keys out in the clear, public keys from private ones. */
import { stat, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

async function keygen(token: TempToken, type: string, label: string, ...flags: string[]) {
  const result = await token.tsp11([
    "keygen",
    "--key-type",
    type,
    "--label",
    label,
    ...flags,
    "--pin",
    PIN,
    "--json",
  ]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { publicKeyPem?: string; id: string };
}

describe.skipIf(!available)("read-object --type privkey|secret", () => {
  it.each(["ec:P-256", "rsa:2048", "ed25519", "ec:secp384r1"])(
    "exports an extractable, non-sensitive %s key as PKCS#8 that openssl reads, mode 0600",
    async (type) => {
      await using token = await tempToken();
      const made = await keygen(token, type, "k", "--extractable", "--no-sensitive");
      const out = token.path("k.pem");
      const read = await token.tsp11([
        "read-object",
        "--type",
        "privkey",
        "--label",
        "k",
        "--pin",
        PIN,
        "-o",
        out,
      ]);
      expect(read.code, read.stderr).toBe(0);
      expect((await stat(out)).mode & 0o777).toBe(0o600);
      const pub = await token.exec("openssl", ["pkey", "-in", out, "-pubout"]);
      expect(pub.code, pub.stderr).toBe(0);
      expect(pub.stdout).toBe(made.publicKeyPem);
      const der = await token.tsp11([
        "read-object",
        "--type",
        "privkey",
        "--label",
        "k",
        "--pin",
        PIN,
        "--der",
      ]);
      const parsed = await token.exec("openssl", ["pkey", "-inform", "DER", "-pubout"], {
        input: der.stdoutBytes,
      });
      expect(parsed.stdout).toBe(made.publicKeyPem);
    },
  );

  it("exports an AES key's value as pkcs11-tool reads it", async () => {
    await using token = await tempToken();
    await keygen(token, "aes:256", "s", "--extractable", "--no-sensitive");
    const read = await token.tsp11([
      "read-object",
      "--type",
      "secret",
      "--label",
      "s",
      "--pin",
      PIN,
    ]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdoutBytes.length).toBe(32);
    const oracle = await token.pkcs11Tool([
      "--login",
      "--pin",
      PIN,
      "--read-object",
      "--type",
      "secrkey",
      "--label",
      "s",
    ]);
    expect(oracle.stdoutBytes).toEqual(read.stdoutBytes);
    // The value encrypts as the token's key does: AES-ECB of one block, here and in openssl.
    const block = Buffer.alloc(16, 0x5a);
    await writeFile(token.path("block"), block);
    const tokenEnc = await token.pkcs11Tool([
      "--login",
      "--pin",
      PIN,
      "--encrypt",
      "-m",
      "AES-ECB",
      "--label",
      "s",
      "--input-file",
      token.path("block"),
      "--output-file",
      token.path("block.enc"),
    ]);
    expect(tokenEnc.code, tokenEnc.stderr).toBe(0);
    const hostEnc = await token.exec("openssl", [
      "enc",
      "-aes-256-ecb",
      "-nopad",
      "-K",
      read.stdoutBytes.toString("hex"),
      "-in",
      token.path("block"),
    ]);
    const { readFile } = await import("node:fs/promises");
    expect(hostEnc.stdoutBytes).toEqual(await readFile(token.path("block.enc")));
  });

  it("refuses sensitive or non-extractable keys (exit 2) naming the attributes", async () => {
    await using token = await tempToken();
    await keygen(token, "ec:P-256", "locked");
    await keygen(token, "aes:128", "half", "--extractable");
    const out = token.path("never.pem");
    const locked = await token.tsp11([
      "read-object",
      "--type",
      "privkey",
      "--label",
      "locked",
      "--pin",
      PIN,
      "-o",
      out,
    ]);
    expect(locked.code).toBe(2);
    expect(locked.stderr).toContain("CKA_SENSITIVE is true, CKA_EXTRACTABLE is false");
    expect(locked.stderr).toContain("wrap");
    await expect(stat(out)).rejects.toThrow();
    const half = await token.tsp11([
      "read-object",
      "--type",
      "secret",
      "--label",
      "half",
      "--pin",
      PIN,
    ]);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/secret key "half" .*: CKA_SENSITIVE is true \(/);
  });
});

describe.skipIf(!available)("read-object --type pubkey without a public-key object", () => {
  async function withoutPublicHalf(token: TempToken, type: string, ...flags: string[]) {
    const made = await keygen(token, type, "p", ...flags);
    const deleted = await token.tsp11([
      "delete-object",
      "--type",
      "pubkey",
      "--label",
      "p",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(deleted.code, deleted.stderr).toBe(0);
    return made;
  }

  it("builds an RSA key's from its modulus and exponent", async () => {
    await using token = await tempToken();
    const made = await withoutPublicHalf(token, "rsa:2048");
    const read = await token.tsp11([
      "read-object",
      "--type",
      "pubkey",
      "--label",
      "p",
      "--pin",
      PIN,
    ]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe(made.publicKeyPem);
  });

  it("builds an extractable EC key's from its private value", async () => {
    await using token = await tempToken();
    const made = await withoutPublicHalf(token, "ec:P-256", "--extractable", "--no-sensitive");
    const read = await token.tsp11([
      "read-object",
      "--type",
      "pubkey",
      "--label",
      "p",
      "--pin",
      PIN,
    ]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe(made.publicKeyPem);
  });

  it("says why when the module exposes no public value (exit 3)", async () => {
    await using token = await tempToken();
    await withoutPublicHalf(token, "ec:P-256");
    const read = await token.tsp11([
      "read-object",
      "--type",
      "pubkey",
      "--label",
      "p",
      "--pin",
      PIN,
    ]);
    expect(read.code).toBe(3);
    expect(read.stderr).toContain(
      'private key "p" has no public-key object and the module exposes no public value for it',
    );
  });
});
