import { beforeAll, describe, expect, it } from "vitest";
import type { ObjectJson } from "../../src/core/list-objects.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, SOFTHSM, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

describe.skipIf(!available)("list-objects", () => {
  let token: TempToken;
  const list = async (args: string[]) => {
    const result = await token.tsp11(["list-objects", "--json", ...args]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as ObjectJson[];
  };

  beforeAll(async () => {
    token = await tempToken();
    const keygen = (args: string[]) => token.tsp11(["keygen", "--pin", PIN, ...args]);
    await keygen(["--key-type", "rsa:2048", "--label", "rsa", "--id", "01"]);
    await keygen([
      "--key-type",
      "ec:P-384",
      "--label",
      "ec",
      "--id",
      "02",
      "--usage",
      "sign,derive",
    ]);
    await keygen(["--key-type", "aes:128", "--label", "aes", "--id", "03", "--extractable"]);
    return () => token[Symbol.asyncDispose]();
  });

  it("lists private objects only after a login", async () => {
    const anonymous = await list([]);
    expect(anonymous.map((o) => `${o.class}/${o.label}`)).toEqual([
      "public-key/rsa",
      "public-key/ec",
    ]);
    const all = await list(["--pin", PIN]);
    expect(all.map((o) => `${o.class}/${o.label}`)).toEqual([
      "private-key/rsa",
      "public-key/rsa",
      "private-key/ec",
      "public-key/ec",
      "secret-key/aes",
    ]);
  });

  it("describes each object with the contract's keys and values", async () => {
    const all = await list(["--pin", PIN]);
    const [rsaPrivate, rsaPublic, ecPrivate, ecPublic, aes] = all;
    expect(rsaPrivate).toEqual({
      class: "private-key",
      label: "rsa",
      id: "01",
      keyType: "rsa",
      bits: 2048,
      usage: ["sign"],
      private: true,
      sensitive: true,
      extractable: false,
      uri: expect.stringMatching(
        /^pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=[0-9a-f]+;token=test;id=%01;object=rsa;type=private$/,
      ) as string,
    });
    expect(rsaPublic).toMatchObject({
      class: "public-key",
      keyType: "rsa",
      bits: 2048,
      usage: ["verify"],
      private: false,
    });
    expect(rsaPublic).not.toHaveProperty("sensitive");
    expect(ecPrivate).toMatchObject({
      keyType: "ec",
      curve: "secp384r1",
      usage: ["sign", "derive"],
    });
    expect(ecPublic).toMatchObject({ keyType: "ec", curve: "secp384r1" });
    expect(aes).toMatchObject({
      class: "secret-key",
      keyType: "aes",
      bits: 128,
      extractable: true,
      usage: ["encrypt", "decrypt"],
    });
  });

  it("filters by type, id and label", async () => {
    expect((await list(["--pin", PIN, "--type", "privkey"])).map((o) => o.label)).toEqual([
      "rsa",
      "ec",
    ]);
    expect((await list(["--pin", PIN, "--type", "secret"])).map((o) => o.label)).toEqual(["aes"]);
    expect(await list(["--pin", PIN, "--type", "cert"])).toEqual([]);
    expect((await list(["--pin", PIN, "--id", "0x02"])).map((o) => o.class)).toEqual([
      "private-key",
      "public-key",
    ]);
    expect(
      (await list(["--pin", PIN, "--label", "rsa", "--type", "pubkey"])).map((o) => o.id),
    ).toEqual(["01"]);
  });

  it("prints tab-separated rows with risky attributes in capitals when piped", async () => {
    const result = await token.tsp11(["list-objects", "--pin", PIN]);
    const rows = result.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t"));
    expect(rows).toHaveLength(5);
    expect(rows[0]?.slice(0, 6)).toEqual([
      "private-key",
      "rsa",
      "01",
      "rsa 2048",
      "sign",
      "private",
    ]);
    expect(rows[4]?.slice(0, 6)).toEqual([
      "secret-key",
      "aes",
      "03",
      "aes 128",
      "encrypt,decrypt",
      "private,EXTRACTABLE",
    ]);
  });

  it("refuses an unknown --type with exit 2", async () => {
    const result = await token.tsp11(["list-objects", "--type", "keys"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /argument 'keys' is invalid\. Allowed choices are cert, privkey, pubkey, secret, data/,
    );
  });
});

/**
 * One search finds every object, and each object's class is guessed from the kinds seen
 * before (ObjectReader): a token whose objects come in no order, of every kind, including a
 * key type without a template of its own (DES3), must be listed exactly as it is.
 */
describe.skipIf(!available)("list-objects on a token of mixed kinds", () => {
  let token: TempToken;

  beforeAll(async () => {
    token = await tempToken();
    const ok = async (result: Promise<{ code: number; stderr: string }>) => {
      const done = await result;
      expect(done.code, done.stderr).toBe(0);
    };
    await ok(
      token.tsp11([
        "keygen",
        "--pin",
        PIN,
        "--key-type",
        "ec:P-256",
        "--label",
        "ec",
        "--id",
        "10",
      ]),
    );
    await ok(
      token.tsp11([
        "keygen",
        "--pin",
        PIN,
        "--key-type",
        "rsa:2048",
        "--label",
        "rsa",
        "--id",
        "11",
      ]),
    );
    await ok(token.tsp11(["cert", "--pin", PIN, "-i", "ec", "-d", "/CN=mixed", "--import"]));
    // Data objects, a generic secret and a DES3 key, written straight through PKCS#11.
    await ok(
      token.exec(process.execPath, [
        "--input-type=module",
        "-e",
        `
import { createRequire } from "node:module";
const p11 = createRequire(${JSON.stringify(import.meta.url)})("pkcs11js");
const p = new p11.PKCS11(); p.load(${JSON.stringify(SOFTHSM)});
p.C_Initialize({ flags: p11.CKF_OS_LOCKING_OK });
const [slot] = p.C_GetSlotList(true);
const s = p.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION);
p.C_Login(s, p11.CKU_USER, ${JSON.stringify(PIN)});
const common = (label) => [{ type: p11.CKA_TOKEN, value: true }, { type: p11.CKA_LABEL, value: label }];
for (const label of ["data-1", "data-2"]) p.C_CreateObject(s, [...common(label),
  { type: p11.CKA_CLASS, value: p11.CKO_DATA }, { type: p11.CKA_PRIVATE, value: false },
  { type: p11.CKA_VALUE, value: Buffer.from(label) }]);
p.C_CreateObject(s, [...common("generic"), { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
  { type: p11.CKA_KEY_TYPE, value: p11.CKK_GENERIC_SECRET }, { type: p11.CKA_ID, value: Buffer.from([0x20]) },
  { type: p11.CKA_VALUE, value: Buffer.alloc(32, 1) }]);
p.C_CreateObject(s, [...common("des3"), { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
  { type: p11.CKA_KEY_TYPE, value: p11.CKK_DES3 }, { type: p11.CKA_ID, value: Buffer.from([0x21]) },
  { type: p11.CKA_ENCRYPT, value: true }, { type: p11.CKA_VALUE, value: Buffer.alloc(24, 2) }]);
p.C_Logout(s); p.C_Finalize();
`,
      ]),
    );
    return () => token[Symbol.asyncDispose]();
  });

  it("lists every object the token holds, each described by its own kind", async () => {
    const result = await token.tsp11(["list-objects", "--json", "--pin", PIN]);
    expect(result.code, result.stderr).toBe(0);
    const objects = JSON.parse(result.stdout) as ObjectJson[];
    const summary = objects.map((o) =>
      [o.class, o.label, o.id, o.keyType ?? "", o.bits ?? o.curve ?? "", o.usage.join(",")].join(
        " ",
      ),
    );
    expect(summary).toEqual([
      "data data-1    ",
      "data data-2    ",
      "private-key ec 10 ec prime256v1 sign",
      "public-key ec 10 ec prime256v1 verify",
      "certificate ec 10   ",
      "private-key rsa 11 rsa 2048 sign",
      "public-key rsa 11 rsa 2048 verify",
      // SoftHSM's defaults for secret keys: every usage but derive.
      "secret-key generic 20 generic-secret 256 sign,verify,encrypt,decrypt,wrap,unwrap",
      "secret-key des3 21 des3  sign,verify,encrypt,decrypt,wrap,unwrap",
    ]);
    expect(objects.find((o) => o.class === "certificate")).toMatchObject({ subject: "CN=mixed" });
    // The oracle counts the same objects.
    const oracle = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(oracle.stdout.match(/^(\S.* Object;|Data object )/gm)).toHaveLength(objects.length);
  });
});
