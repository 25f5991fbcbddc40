import { createHash, createPublicKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

interface KeygenJson {
  label: string;
  id: string;
  keyType: string;
  bits?: number;
  curve?: string;
  usage: string[];
  publicKeyPem?: string;
  uri: string;
}

async function keygen(token: TempToken, args: string[]): Promise<KeygenJson> {
  const result = await token.tsp11(["keygen", "--pin", PIN, "--json", ...args]);
  if (result.code !== 0) throw new Error(`keygen failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as KeygenJson;
}

/** pkcs11-tool's block for one object, found by its label line. */
async function oracleObjects(token: TempToken): Promise<string> {
  const result = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
  expect(result.code).toBe(0);
  return result.stdout;
}

function block(listing: string, kind: string, label: string): string {
  const blocks = listing.split(/\n(?=\S)/);
  const found = blocks.find((b) => b.startsWith(kind) && b.includes(`label:      ${label}\n`));
  if (!found) throw new Error(`no ${kind} ${label} in\n${listing}`);
  return found;
}

describe.skipIf(!available)("keygen", () => {
  let token: TempToken;
  beforeAll(async () => {
    token = await tempToken();
    return () => token[Symbol.asyncDispose]();
  });

  it("makes an RSA-2048 pair with the given id and exactly the requested usage", async () => {
    const json = await keygen(token, [
      "--key-type",
      "rsa:2048",
      "--label",
      "key-1",
      "--id",
      "0001",
    ]);
    expect(json).toMatchObject({
      label: "key-1",
      id: "0001",
      keyType: "rsa",
      bits: 2048,
      usage: ["sign"],
    });
    expect(Object.keys(json)).toEqual([
      "label",
      "id",
      "keyType",
      "bits",
      "usage",
      "publicKeyPem",
      "uri",
    ]);
    expect(json.uri).toMatch(/;token=test;id=%00%01;object=key-1$/);
    const listing = await oracleObjects(token);
    expect(block(listing, "Private Key Object; RSA", "key-1")).toMatch(
      /ID:\s+0001\n\s+Usage:\s+sign\n\s+Access:\s+sensitive, always sensitive, never extractable/,
    );
    expect(block(listing, "Public Key Object; RSA 2048 bits", "key-1")).toMatch(
      /Usage:\s+verify\n/,
    );
    // The PEM is the token's public key: pkcs11-tool exports the same SPKI.
    const der = await token.pkcs11Tool([
      "--read-object",
      "--type",
      "pubkey",
      "--id",
      "0001",
      "-o",
      token.path("k1.der"),
    ]);
    expect(der.code).toBe(0);
    const exported = createPublicKey({
      key: await readFile(token.path("k1.der")),
      format: "der",
      type: "spki",
    });
    expect(exported.export({ type: "spki", format: "pem" })).toBe(json.publicKeyPem);
  });

  it("derives the id as SHA-1 of the EC point when none is given", async () => {
    const json = await keygen(token, ["--key-type", "EC:prime256v1", "--label", "ec-1"]);
    expect(json).toMatchObject({ keyType: "ec", curve: "prime256v1", usage: ["sign"] });
    const jwk = createPublicKey(json.publicKeyPem ?? "").export({ format: "jwk" });
    const point = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x ?? "", "base64url"),
      Buffer.from(jwk.y ?? "", "base64url"),
    ]);
    expect(json.id).toBe(createHash("sha1").update(point).digest("hex"));
    const listing = await oracleObjects(token);
    expect(block(listing, "Private Key Object; EC", "ec-1")).toContain(`ID:         ${json.id}`);
    expect(block(listing, "Public Key Object; EC", "ec-1")).toContain(
      "EC_PARAMS:  06082a8648ce3d030107",
    );
  });

  it("derives an RSA id from the modulus and honours --usage", async () => {
    const json = await keygen(token, [
      "--key-type",
      "rsa:2048",
      "--label",
      "rsa-dec",
      "--usage",
      "sign,decrypt",
    ]);
    const jwk = createPublicKey(json.publicKeyPem ?? "").export({ format: "jwk" });
    expect(json.id).toBe(
      createHash("sha1")
        .update(Buffer.from(jwk.n ?? "", "base64url"))
        .digest("hex"),
    );
    expect(json.usage).toEqual(["sign", "decrypt"]);
    expect(block(await oracleObjects(token), "Private Key Object; RSA", "rsa-dec")).toMatch(
      /Usage:\s+decrypt, sign\n/,
    );
  });

  it("makes Ed25519 and AES keys", async () => {
    const ed = await keygen(token, ["--key-type", "ed25519", "--label", "ed-1"]);
    expect(ed).toMatchObject({ keyType: "ec-edwards", curve: "ed25519" });
    expect(createPublicKey(ed.publicKeyPem ?? "").asymmetricKeyType).toBe("ed25519");
    const aes = await keygen(token, ["--key-type", "aes:256", "--label", "aes-1"]);
    expect(aes).toMatchObject({ keyType: "aes", bits: 256, usage: ["encrypt", "decrypt"] });
    expect(aes.uri).toMatch(/type=secret-key$/);
    expect(block(await oracleObjects(token), "Secret Key Object; AES length 32", "aes-1")).toMatch(
      /Usage:\s+encrypt, decrypt\n/,
    );
  });

  it("refuses a duplicate label or id (exit 6) and replaces it with --force", async () => {
    const first = await keygen(token, ["--key-type", "ec:P-256", "--label", "dup", "--id", "d0"]);
    const before = await oracleObjects(token);
    for (const args of [
      ["--label", "dup"],
      ["--label", "other", "--id", "d0"],
    ]) {
      const result = await token.tsp11(["keygen", "--pin", PIN, "--key-type", "ec:P-256", ...args]);
      expect(result.code).toBe(6);
      expect(result.stderr).toMatch(
        /already exists on token "test" \(use --force to replace it\)\n$/,
      );
    }
    expect(await oracleObjects(token)).toBe(before);
    const replaced = await keygen(token, [
      "--key-type",
      "ec:P-384",
      "--label",
      "dup",
      "--id",
      "d0",
      "--force",
    ]);
    expect(replaced.publicKeyPem).not.toBe(first.publicKeyPem);
    const objects = JSON.parse(
      (await token.tsp11(["list-objects", "--pin", PIN, "--label", "dup", "--json"])).stdout,
    ) as { curve: string }[];
    expect(objects.map((o) => o.curve)).toEqual(["secp384r1", "secp384r1"]);
  });

  it.each([
    [["--key-type", "rsa:512", "--label", "x"], /invalid key type "rsa:512"/],
    [["--key-type", "ec:sect163k1", "--label", "x"], /unknown curve "sect163k1"/],
    [["--key-type", "rsa:2048", "--label", "x", "--id", "xyz"], /invalid id "xyz"/],
    [["--key-type", "rsa:2048", "--label", "x", "--usage", "fly"], /invalid usage "fly"/],
    [["--label", "x"], /required option '--key-type <type>' not specified/],
  ])("refuses bad input %j with exit 2 and changes nothing", async (args, message) => {
    const before = await oracleObjects(token);
    const result = await token.tsp11(["keygen", "--pin", PIN, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(await oracleObjects(token)).toBe(before);
  });
});
