/** read-object, delete-object and change-pin against a real SoftHSM2 token. */
import { createPublicKey } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { issue, makeCa } from "../helpers/pki.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, SO_PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

describe.skipIf(!available)("read-object", () => {
  let token: TempToken;
  let certPem: string;
  let publicKeyPem: string;

  beforeAll(async () => {
    token = await tempToken();
    const keygen = await token.tsp11([
      "keygen",
      "--key-type",
      "ec:P-256",
      "--label",
      "k1",
      "--id",
      "01",
      "--pin",
      PIN,
      "--json",
    ]);
    publicKeyPem = (JSON.parse(keygen.stdout) as { publicKeyPem: string }).publicKeyPem;
    await token.tsp11([
      "req",
      "-i",
      "k1",
      "-d",
      "/CN=read-object",
      "-o",
      token.path("k1.csr"),
      "--pin",
      PIN,
    ]);
    const ca = await makeCa(token);
    await issue(token, ca, token.path("k1.csr"), token.path("k1.pem"));
    certPem = await readFile(token.path("k1.pem"), "utf8");
    expect(
      (
        await token.tsp11([
          "write-object",
          "--type",
          "cert",
          "-f",
          token.path("k1.pem"),
          "--pin",
          PIN,
        ])
      ).code,
    ).toBe(0);
    await writeFile(token.path("blob.bin"), Buffer.from([0, 1, 2, 255]));
    expect(
      (
        await token.tsp11([
          "write-object",
          "--type",
          "data",
          "-f",
          token.path("blob.bin"),
          "--label",
          "blob",
          "--pin",
          PIN,
        ])
      ).code,
    ).toBe(0);
    return () => token[Symbol.asyncDispose]();
  });

  it("exports the certificate as PEM (byte-identical to what was imported) and DER", async () => {
    const pem = await token.tsp11(["read-object", "--type", "cert", "--id", "01"]);
    expect(pem.code).toBe(0);
    expect(pem.stdout).toBe(certPem);
    const der = await token.tsp11([
      "read-object",
      "--type",
      "cert",
      "--label",
      "k1",
      "--der",
      "-o",
      token.path("out.der"),
    ]);
    expect(der.code).toBe(0);
    expect(der.stdout).toBe("");
    const oracle = await token.pkcs11Tool([
      "--read-object",
      "--type",
      "cert",
      "--id",
      "01",
      "-o",
      token.path("oracle.der"),
    ]);
    expect(oracle.code).toBe(0);
    expect(await readFile(token.path("out.der"))).toEqual(await readFile(token.path("oracle.der")));
  });

  it("exports the public key from the public key object, and from a URI", async () => {
    const byId = await token.tsp11(["read-object", "--type", "pubkey", "--id", "01"]);
    expect(byId.stdout).toBe(publicKeyPem);
    const uri = JSON.parse(
      (await token.tsp11(["list-objects", "--type", "pubkey", "--json"])).stdout,
    ) as { uri: string }[];
    const byUri = await token.tsp11([
      "read-object",
      "--type",
      "pubkey",
      "--uri",
      uri[0]?.uri ?? "",
      "--json",
    ]);
    const json = JSON.parse(byUri.stdout) as {
      class: string;
      id: string;
      label: string;
      pem: string;
    };
    expect(json).toMatchObject({ class: "public-key", id: "01", label: "k1" });
    expect(createPublicKey(json.pem).export({ format: "jwk" })).toEqual(
      createPublicKey(publicKeyPem).export({ format: "jwk" }),
    );
  });

  it("reads a data object's value, raw or as base64 in JSON", async () => {
    const raw = await token.tsp11([
      "read-object",
      "--type",
      "data",
      "--label",
      "blob",
      "--pin",
      PIN,
    ]);
    expect(raw.stdoutBytes).toEqual(Buffer.from([0, 1, 2, 255]));
    const json = JSON.parse(
      (await token.tsp11(["read-object", "--type", "data", "--label", "blob", "--json"])).stdout,
    ) as {
      valueBase64: string;
    };
    expect(json.valueBase64).toBe("AAEC/w==");
  });

  it("exits 3 for a missing object and 2 without a selector", async () => {
    const missing = await token.tsp11(["read-object", "--type", "cert", "--id", "99"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe("tsp11: read-object: no cert with id 99 on the token\n");
    const unnamed = await token.tsp11(["read-object", "--type", "cert"]);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toMatch(/name the object with --label <label>, --id <hex>/);
  });
});

describe.skipIf(!available)("delete-object", () => {
  it("deletes every match with --yes, refuses without it when there is no terminal", async () => {
    await using token = await tempToken();
    await token.tsp11([
      "keygen",
      "--key-type",
      "ec:P-256",
      "--label",
      "gone",
      "--id",
      "0a",
      "--pin",
      PIN,
    ]);
    await token.tsp11([
      "keygen",
      "--key-type",
      "ec:P-256",
      "--label",
      "kept",
      "--id",
      "0b",
      "--pin",
      PIN,
    ]);
    const refused = await token.tsp11(["delete-object", "--id", "0a", "--pin", PIN]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /would delete 2 object\(s\): private-key "gone" \(id 0a\), public-key "gone" \(id 0a\); add --yes/,
    );
    const deleted = await token.tsp11([
      "delete-object",
      "--id",
      "0a",
      "--yes",
      "--pin",
      PIN,
      "--json",
    ]);
    expect(deleted.code).toBe(0);
    expect((JSON.parse(deleted.stdout) as { class: string }[]).map((o) => o.class)).toEqual([
      "private-key",
      "public-key",
    ]);
    const oracle = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(oracle.stdout).not.toContain("gone");
    expect(oracle.stdout).toContain("label:      kept");
    const again = await token.tsp11(["delete-object", "--id", "0a", "--yes", "--pin", PIN]);
    expect(again.code).toBe(3);
    const typed = await token.tsp11([
      "delete-object",
      "--type",
      "pubkey",
      "--label",
      "kept",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(typed.code).toBe(0);
    const left = JSON.parse(
      (await token.tsp11(["list-objects", "--pin", PIN, "--json"])).stdout,
    ) as { class: string }[];
    expect(left.map((o) => o.class)).toEqual(["private-key"]);
  });

  it("needs a selector", async () => {
    await using token = await tempToken();
    const result = await token.tsp11(["delete-object", "--type", "cert", "--yes", "--pin", PIN]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/name the objects with --id, --label or --uri/);
  });
});

describe.skipIf(!available)("change-pin", () => {
  it("changes the user PIN, the SO PIN, and resets a forgotten user PIN", async () => {
    await using token = await tempToken();
    const changed = await token.tsp11(["change-pin", "--pin", PIN, "--new-pin", "5678", "--json"]);
    expect(changed.code, changed.stderr).toBe(0);
    expect(JSON.parse(changed.stdout)).toMatchObject({
      label: "test",
      pin: "user",
      action: "changed",
    });
    expect((await token.pkcs11Tool(["--login", "--pin", PIN, "-O"])).code).not.toBe(0);
    expect((await token.pkcs11Tool(["--login", "--pin", "5678", "-O"])).code).toBe(0);
    const wrong = await token.tsp11(["change-pin", "--pin", "0000", "--new-pin", "9999"]);
    expect(wrong.code).toBe(4);
    expect(wrong.stdout + wrong.stderr).not.toMatch(/0000|9999/);
    const so = await token.tsp11([
      "change-pin",
      "--so",
      "--so-pin",
      SO_PIN,
      "--new-pin",
      "87654321",
    ]);
    expect(so.code, so.stderr).toBe(0);
    const reset = await token.tsp11([
      "change-pin",
      "--reset",
      "--so-pin",
      "87654321",
      "--new-pin",
      "2468",
    ]);
    expect(reset.code, reset.stderr).toBe(0);
    expect((await token.pkcs11Tool(["--login", "--pin", "2468", "-O"])).code).toBe(0);
  });

  it("exits 4 without a new PIN and no terminal", async () => {
    await using token = await tempToken();
    const result = await token.tsp11(["change-pin", "--pin", PIN]);
    expect(result.code).toBe(4);
  });
});
