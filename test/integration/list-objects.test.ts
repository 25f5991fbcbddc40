import { beforeAll, describe, expect, it } from "vitest";
import type { ObjectJson } from "../../src/core/list-objects.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

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
