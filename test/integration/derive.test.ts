/**
 * `tsp11 derive`: ECDH on the token into a new secret key. The derived secret, read back with
 * `read-object --type secret`, must equal `openssl pkeyutl -derive` run with the peer's
 * private key (the peer made by openssl). Refusals: a peer on another curve, a key without
 * CKA_DERIVE, an existing label.
 */
import { readFile, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

async function ok(token: TempToken, args: string[]) {
  const result = await token.tsp11([...args, "--pin", PIN]);
  if (result.code !== 0) throw new Error(`tsp11 ${args.join(" ")}: ${result.stderr}`);
  return result;
}

/** An EC key on the token with CKA_DERIVE; its public key PEM written to `<label>.pub.pem`. */
async function tokenKey(token: TempToken, curve: string, label: string, usage = "derive") {
  const made = await ok(token, [
    "keygen",
    "--key-type",
    `ec:${curve}`,
    "--label",
    label,
    "--usage",
    usage,
    "--json",
  ]);
  const pem = (JSON.parse(made.stdout) as { publicKeyPem: string }).publicKeyPem;
  await writeFile(token.path(`${label}.pub.pem`), pem);
  return token.path(`${label}.pub.pem`);
}

/** A peer key pair made by openssl: [private key file, public key file]. */
async function peerKey(token: TempToken, curve: string, name: string): Promise<[string, string]> {
  const key = token.path(`${name}.pem`);
  const pub = token.path(`${name}.pub.pem`);
  const gen = await token.exec("openssl", [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    `ec_paramgen_curve:${curve}`,
    "-out",
    key,
  ]);
  expect(gen.code, gen.stderr).toBe(0);
  const out = await token.exec("openssl", ["pkey", "-in", key, "-pubout", "-out", pub]);
  expect(out.code, out.stderr).toBe(0);
  return [key, pub];
}

describe.skipIf(!available)("derive", () => {
  it.each([
    ["prime256v1", 256],
    ["secp384r1", 384],
    ["secp521r1", 528],
  ])("ECDH on %s equals openssl pkeyutl -derive", async (curve, bits) => {
    await using token = await tempToken();
    const tokenPub = await tokenKey(token, curve, "ecdh");
    const [peer, peerPub] = await peerKey(token, curve, "peer");
    const expected = await token.exec("openssl", [
      "pkeyutl",
      "-derive",
      "-inkey",
      peer,
      "-peerkey",
      tokenPub,
      "-out",
      token.path("expected.bin"),
    ]);
    expect(expected.code, expected.stderr).toBe(0);
    const derived = await ok(token, [
      "derive",
      "--key",
      "ecdh",
      "--peer",
      peerPub,
      "--key-type",
      `generic:${bits}`,
      "--label",
      "shared",
      "--kdf",
      "null",
      "--extractable",
      "--no-sensitive",
      "--json",
    ]);
    const result = JSON.parse(derived.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ label: "shared", keyType: "generic-secret", bits });
    expect(result.uri).toMatch(/type=secret-key/);
    await ok(token, [
      "read-object",
      "--type",
      "secret",
      "--label",
      "shared",
      "-o",
      token.path("secret.bin"),
    ]);
    const secret = await readFile(token.path("secret.bin"));
    expect(secret.toString("hex")).toBe(
      (await readFile(token.path("expected.bin"))).toString("hex"),
    );
  });

  it("derives an AES key that encrypts as openssl enc with the shared secret", async () => {
    await using token = await tempToken();
    const tokenPub = await tokenKey(token, "prime256v1", "ecdh");
    const [peer, peerPub] = await peerKey(token, "prime256v1", "peer");
    const expected = await token.exec("openssl", [
      "pkeyutl",
      "-derive",
      "-inkey",
      peer,
      "-peerkey",
      tokenPub,
    ]);
    expect(expected.code, expected.stderr).toBe(0);
    await ok(token, [
      "derive",
      "--key",
      "ecdh",
      "--peer",
      peerPub,
      "--key-type",
      "aes:256",
      "--label",
      "aes",
    ]);
    await writeFile(token.path("plain.txt"), "hello over ECDH\n");
    const iv = "00112233445566778899aabbccddeeff";
    const encrypted = await ok(token, [
      "encrypt",
      "-i",
      "aes",
      "-m",
      "AES-CBC-PAD",
      "--iv",
      iv,
      "--iv-out",
      token.path("iv.bin"),
      "--input",
      token.path("plain.txt"),
      "--output",
      token.path("cipher.bin"),
    ]);
    expect(encrypted.code).toBe(0);
    const decrypted = await token.exec("openssl", [
      "enc",
      "-d",
      "-aes-256-cbc",
      "-K",
      expected.stdoutBytes.toString("hex"),
      "-iv",
      iv,
      "-in",
      token.path("cipher.bin"),
    ]);
    expect(decrypted.code, decrypted.stderr).toBe(0);
    expect(decrypted.stdout).toBe("hello over ECDH\n");
  });

  it("refuses a peer on another curve, a key without CKA_DERIVE and an existing label", async () => {
    await using token = await tempToken();
    await tokenKey(token, "prime256v1", "ecdh");
    await tokenKey(token, "prime256v1", "signer", "sign");
    const [, wrongCurve] = await peerKey(token, "secp384r1", "p384");
    const [, peerPub] = await peerKey(token, "prime256v1", "peer");
    const derive = (key: string, peer: string, label: string) =>
      token.tsp11([
        "derive",
        "--key",
        key,
        "--peer",
        peer,
        "--key-type",
        "aes:128",
        "--label",
        label,
        "--pin",
        PIN,
      ]);
    const curve = await derive("ecdh", wrongCurve, "x");
    expect(curve.code).toBe(2);
    expect(curve.stderr).toMatch(/secp384r1.*prime256v1/);
    const noDerive = await derive("signer", peerPub, "x");
    expect(noDerive.code).toBe(2);
    expect(noDerive.stderr).toMatch(/CKA_DERIVE/);
    await writeFile(
      token.path("garbage.pem"),
      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    );
    const bad = await derive("ecdh", token.path("garbage.pem"), "x");
    expect(bad.code).toBe(2);
    const listed = await ok(token, ["list-objects", "--type", "secret", "--json"]);
    expect(JSON.parse(listed.stdout)).toEqual([]);
    expect((await derive("ecdh", peerPub, "s")).code).toBe(0);
    const again = await derive("ecdh", peerPub, "s");
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/label "s" already exists/);
  });
});
