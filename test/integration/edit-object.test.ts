/** edit-object against a real SoftHSM2 token, checked with pkcs11-tool and openssl. */
import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import {
  PIN,
  softhsmAvailable,
  storeSnapshot,
  tempToken,
  withPkcs11js,
} from "../helpers/softhsm.js";

const available = softhsmAvailable();

/** The objects' files: a login rewrites token.object (its counters), a change the others. */
async function objectFiles(token: TempToken): Promise<string> {
  return (await storeSnapshot(token))
    .split("\n")
    .filter((line) => !line.endsWith("/token.object"))
    .join("\n");
}

interface Listed {
  class: string;
  label: string;
  id: string;
  usage: string[];
}

async function keyWithCert(token: TempToken, label: string, id: string): Promise<void> {
  const keygen = await token.tsp11([
    "keygen",
    "--key-type",
    "ec:P-256",
    "--label",
    label,
    "--id",
    id,
    "--pin",
    PIN,
  ]);
  expect(keygen.code).toBe(0);
  const cert = await token.tsp11([
    "cert",
    "-i",
    label,
    "-d",
    `/CN=${label}`,
    "--import",
    "--pin",
    PIN,
  ]);
  expect(cert.code, cert.stderr).toBe(0);
}

/** pkcs11-tool's view: "label/ID" of every object, the oracle. */
async function oracleObjects(token: TempToken): Promise<string[]> {
  const listed = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
  const objects: string[] = [];
  let label = "";
  for (const line of listed.stdout.split("\n")) {
    const labelMatch = /^\s+label:\s+(.*)$/.exec(line);
    if (labelMatch) label = labelMatch[1] ?? "";
    const idMatch = /^\s+ID:\s+(\S+)$/.exec(line);
    if (idMatch) objects.push(`${label}/${idMatch[1]}`);
  }
  return objects.sort();
}

describe.skipIf(!available)("edit-object", () => {
  it("renames and re-ids a key pair and its certificate together; signing by the new label works", async () => {
    await using token = await tempToken();
    await keyWithCert(token, "old", "01");
    const refused = await token.tsp11([
      "edit-object",
      "--label",
      "old",
      "--set-label",
      "new",
      "--pin",
      PIN,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/would change 3 object\(s\):.*add --yes/);
    const edited = await token.tsp11([
      "edit-object",
      "--label",
      "old",
      "--set-label",
      "new",
      "--set-id",
      "0a0b",
      "--yes",
      "--pin",
      PIN,
      "--json",
    ]);
    expect(edited.code, edited.stderr).toBe(0);
    const objects = JSON.parse(edited.stdout) as Listed[];
    expect(objects.map((o) => `${o.class}/${o.label}/${o.id}`)).toEqual([
      "private-key/new/0a0b",
      "public-key/new/0a0b",
      "certificate/new/0a0b",
    ]);
    expect(await oracleObjects(token)).toEqual(["new/0a0b", "new/0a0b", "new/0a0b"]);

    await writeFile(token.path("data"), "hello");
    const sign = await token.tsp11([
      "sign",
      "-i",
      "new",
      "--input",
      token.path("data"),
      "--output",
      token.path("data.sig"),
      "--pin",
      PIN,
    ]);
    expect(sign.code, sign.stderr).toBe(0);
    const pub = await token.tsp11([
      "read-object",
      "--type",
      "pubkey",
      "--label",
      "new",
      "-o",
      token.path("pub.pem"),
    ]);
    expect(pub.code, pub.stderr).toBe(0);
    const verified = await token.exec("openssl", [
      "dgst",
      "-sha256",
      "-verify",
      token.path("pub.pem"),
      "-signature",
      token.path("data.sig"),
      token.path("data"),
    ]);
    expect(verified.stdout).toContain("Verified OK");
  });

  it("moves the certificate with a new id even when its label differs", async () => {
    await using token = await tempToken();
    await keyWithCert(token, "k", "01");
    // The certificate gets a label of its own; it still shares the key's id.
    const renamed = await token.tsp11([
      "edit-object",
      "--type",
      "cert",
      "--id",
      "01",
      "--set-label",
      "k-cert",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(renamed.code, renamed.stderr).toBe(0);
    const moved = await token.tsp11([
      "edit-object",
      "--label",
      "k",
      "--set-id",
      "02",
      "--yes",
      "--pin",
      PIN,
      "--json",
    ]);
    expect(moved.code, moved.stderr).toBe(0);
    expect(
      (JSON.parse(moved.stdout) as Listed[]).map((o) => `${o.class}/${o.label}/${o.id}`),
    ).toEqual(["private-key/k/02", "public-key/k/02", "certificate/k-cert/02"]);
    expect(await oracleObjects(token)).toEqual(["k-cert/02", "k/02", "k/02"]);
  });

  it("refuses an id or label another object of the class has (exit 6) unless --force", async () => {
    await using token = await tempToken();
    for (const [label, id] of [
      ["a", "01"],
      ["b", "02"],
    ] as const) {
      await token.tsp11([
        "keygen",
        "--key-type",
        "ec:P-256",
        "--label",
        label,
        "--id",
        id,
        "--pin",
        PIN,
      ]);
    }
    const before = await objectFiles(token);
    const byLabel = await token.tsp11([
      "edit-object",
      "--label",
      "a",
      "--set-label",
      "b",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(byLabel.code).toBe(6);
    expect(byLabel.stderr).toMatch(
      /another private key on token "test" has label "b" \(use --force\)/,
    );
    const byId = await token.tsp11([
      "edit-object",
      "--id",
      "01",
      "--set-id",
      "02",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(byId.code).toBe(6);
    expect(byId.stderr).toContain("has id 02");
    expect(await objectFiles(token)).toBe(before);
    const forced = await token.tsp11([
      "edit-object",
      "--label",
      "a",
      "--set-label",
      "b",
      "--force",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await oracleObjects(token)).toEqual(["b/01", "b/01", "b/02", "b/02"]);
  });

  it("sets the usage of both halves, as pkcs11-tool shows", async () => {
    await using token = await tempToken();
    await token.tsp11([
      "keygen",
      "--key-type",
      "rsa:2048",
      "--label",
      "r",
      "--id",
      "01",
      "--pin",
      PIN,
    ]);
    const edited = await token.tsp11([
      "edit-object",
      "--id",
      "01",
      "--set-usage",
      "decrypt,wrap",
      "--yes",
      "--pin",
      PIN,
      "--json",
    ]);
    expect(edited.code, edited.stderr).toBe(0);
    expect((JSON.parse(edited.stdout) as Listed[]).map((o) => o.usage)).toEqual([
      ["decrypt", "unwrap"],
      ["encrypt", "wrap"],
    ]);
    const oracle = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(oracle.stdout).toContain("Usage:      decrypt, unwrap");
    expect(oracle.stdout).toContain("Usage:      encrypt, wrap");
  });

  it("names an unmodifiable object (exit 1) and changes nothing", async () => {
    await using token = await tempToken();
    await token.tsp11([
      "keygen",
      "--key-type",
      "aes:128",
      "--label",
      "s",
      "--id",
      "01",
      "--pin",
      PIN,
    ]);
    // A second secret with the same id that the module may not change.
    await withPkcs11js(
      token,
      `p.C_CreateObject(s, [
        { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
        { type: p11.CKA_KEY_TYPE, value: p11.CKK_AES },
        { type: p11.CKA_TOKEN, value: true },
        { type: p11.CKA_LABEL, value: "fixed" },
        { type: p11.CKA_ID, value: Buffer.from([1]) },
        { type: p11.CKA_VALUE, value: Buffer.alloc(16, 7) },
        { type: p11.CKA_MODIFIABLE, value: false },
      ]);`,
    );
    const before = await objectFiles(token);
    const refused = await token.tsp11([
      "edit-object",
      "--id",
      "01",
      "--set-label",
      "x",
      "--force",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /CKA_MODIFIABLE is false on secret-key "fixed"; nothing was changed/,
    );
    expect(await objectFiles(token)).toBe(before);
  });

  it("needs a selector and a change", async () => {
    await using token = await tempToken();
    const noSelector = await token.tsp11([
      "edit-object",
      "--set-label",
      "x",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(noSelector.code).toBe(2);
    const noChange = await token.tsp11(["edit-object", "--label", "x", "--yes", "--pin", PIN]);
    expect(noChange.code).toBe(2);
    expect(noChange.stderr).toContain("--set-label, --set-id or --set-usage");
    const none = await token.tsp11([
      "edit-object",
      "--label",
      "x",
      "--set-label",
      "y",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(none.code).toBe(3);
  });
});
