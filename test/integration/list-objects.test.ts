import { beforeAll, describe, expect, it } from "vitest";
import type { ObjectJson } from "../../src/core/list-objects.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken, withPkcs11js } from "../helpers/softhsm.js";

const available = softhsmAvailable();

describe.skipIf(!available)("list-objects", () => {
  let token: TempToken;
  const list = async (args: string[]) => {
    const result = await token.tsp11(["list-objects", "--json", ...args]);
    expect(result.code, result.stderr).toBe(0);
    // Nothing on stderr: the runtime took the V8 settings the listing makes (src/memory.ts).
    expect(result.stderr).toBe("");
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

/** Runs tsp11 on the token for a test's set-up: anything but exit 0 fails the test. */
async function succeeds(token: TempToken, args: string[]): Promise<void> {
  const result = await token.tsp11(args);
  expect(result.code, result.stderr).toBe(0);
}

/**
 * One search finds every object, and each object's class is guessed from the kinds seen
 * before (ObjectReader): a token whose objects come in no order, of every kind, including a
 * key type without a template of its own (DES3), must be listed exactly as it is.
 */
describe.skipIf(!available)("list-objects on a token of mixed kinds", () => {
  let token: TempToken;

  beforeAll(async () => {
    token = await tempToken();
    await succeeds(token, [
      "keygen",
      "--pin",
      PIN,
      "--key-type",
      "ec:P-256",
      "--label",
      "ec",
      "--id",
      "10",
    ]);
    await succeeds(token, [
      "keygen",
      "--pin",
      PIN,
      "--key-type",
      "rsa:2048",
      "--label",
      "rsa",
      "--id",
      "11",
    ]);
    await succeeds(token, ["cert", "--pin", PIN, "-i", "ec", "-d", "/CN=mixed", "--import"]);
    // Data objects, a generic secret and a DES3 key, written straight through PKCS#11.
    await withPkcs11js(
      token,
      `
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
`,
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

describe.skipIf(!available)("list-objects: CKA_ALLOWED_MECHANISMS", () => {
  it("shows a key's allowed mechanisms by name, learning once per class that the module has them", async () => {
    await using token = await tempToken();
    for (const [label, id, extra] of [
      ["plain-1", "01", []],
      ["limited", "02", ["--allowed-mechanisms", "ECDSA-SHA256,ECDSA"]],
      ["plain-2", "03", []],
    ] as const) {
      await succeeds(token, [
        "keygen",
        "--pin",
        PIN,
        "--key-type",
        "ec:P-256",
        "--label",
        label,
        "--id",
        id,
        ...extra,
      ]);
    }
    const result = await token.tsp11(["-v", "list-objects", "--json", "--pin", PIN]);
    expect(result.code, result.stderr).toBe(0);
    const objects = JSON.parse(result.stdout) as ObjectJson[];
    expect(
      objects.map((o) => `${o.class} ${o.label} ${o.allowedMechanisms?.join(",") ?? "-"}`),
    ).toEqual([
      "private-key plain-1 -",
      "public-key plain-1 -",
      "private-key limited ECDSA,ECDSA-SHA256",
      "public-key limited -",
      "private-key plain-2 -",
      "public-key plain-2 -",
    ]);
    // SoftHSM keeps the list as a set, in mechanism order. Single-attribute reads: per key
    // class, CKA_CLASS after the first wrong guesses and CKA_ALLOWED_MECHANISMS once; later
    // keys read the attribute in their one template (per key, there would be 6 or more).
    const reads = result.stderr.match(/C_GetAttributeValue\(\S+, \S+, \[1 items\]\)/g) ?? [];
    expect(reads.length).toBeLessThanOrEqual(4);
    const oracle = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(oracle.stdout).toContain("Allowed mechanisms: ECDSA,ECDSA-SHA256");
  });
});

/**
 * A large token whose classes come in no order (SoftHSM lists its files in directory order):
 * after a sample of wrong guesses, one search per class tells the remaining objects' classes.
 * Objects of a class the sample never saw (certificates written last) must still be listed.
 */
describe.skipIf(!available)("list-objects on a large token of shuffled classes", () => {
  let token: TempToken;
  const COUNT = 2400;

  beforeAll(async () => {
    token = await tempToken();
    await withPkcs11js(
      token,
      `
const point = Buffer.concat([Buffer.from([4, 65, 4]), Buffer.alloc(64, 7)]);
for (let i = 0; i < ${COUNT}; i++) {
  const id = Buffer.alloc(4); id.writeUInt32BE(i);
  const common = [{ type: p11.CKA_TOKEN, value: true }, { type: p11.CKA_PRIVATE, value: false }];
  p.C_CreateObject(s, i % 2
    ? [...common, { type: p11.CKA_LABEL, value: "data-" + i }, { type: p11.CKA_CLASS, value: p11.CKO_DATA }]
    : [...common, { type: p11.CKA_LABEL, value: "pub-" + i }, { type: p11.CKA_ID, value: id },
       { type: p11.CKA_CLASS, value: p11.CKO_PUBLIC_KEY }, { type: p11.CKA_KEY_TYPE, value: p11.CKK_EC },
       { type: p11.CKA_EC_PARAMS, value: Buffer.from("06082a8648ce3d030107", "hex") },
       { type: p11.CKA_EC_POINT, value: point }, { type: p11.CKA_VERIFY, value: true }]);
}
`,
    );
    await succeeds(token, [
      "keygen",
      "--pin",
      PIN,
      "--key-type",
      "ec:P-256",
      "--label",
      "ca",
      "--id",
      "ffffffff",
    ]);
    await succeeds(token, ["cert", "--pin", PIN, "-i", "ca", "-d", "/CN=late", "--import"]);
    return () => token[Symbol.asyncDispose]();
  }, 300_000);

  it("lists every object with its class, from one search", async () => {
    const result = await token.tsp11(["-v", "list-objects", "--json", "--pin", PIN]);
    expect(result.code, result.stderr).toBe(0);
    const objects = JSON.parse(result.stdout) as ObjectJson[];
    const classes = new Map<string, number>();
    for (const o of objects) classes.set(o.class, (classes.get(o.class) ?? 0) + 1);
    expect(Object.fromEntries(classes)).toEqual({
      data: COUNT / 2,
      "public-key": COUNT / 2 + 1,
      "private-key": 1,
      certificate: 1,
    });
    for (const o of objects) {
      if (o.class === "data") expect(o.label).toMatch(/^data-\d*[13579]$/);
      if (o.class === "public-key" && o.id !== "ffffffff") {
        expect(o).toMatchObject({
          label: `pub-${parseInt(o.id, 16)}`,
          curve: "prime256v1",
          // SoftHSM defaults CKA_ENCRYPT, CKA_WRAP and CKA_VERIFY_RECOVER of public keys to true.
          usage: ["verify", "encrypt", "wrap", "sign-recover"],
        });
      }
    }
    expect(objects.find((o) => o.class === "certificate")).toMatchObject({ subject: "CN=late" });
    // Each object's class comes with its sort key: no search per class.
    expect(result.stderr.match(/C_FindObjectsInit/g)).toHaveLength(1);
    const oracle = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(oracle.stdout.match(/^(\S.* Object;|Data object )/gm)).toHaveLength(objects.length);
  });
});

/**
 * The listing is written as it is read: the streamed --json document must be byte for byte
 * the whole document the batch op builds (runListObjects) and writeJson would write, on a
 * token of mixed classes: keys, certificates, data objects and incomplete keys.
 */
describe.skipIf(!available)("list-objects streamed", () => {
  let token: TempToken;

  beforeAll(async () => {
    token = await tempToken();
    await succeeds(token, [
      "keygen",
      "--pin",
      PIN,
      "--key-type",
      "ec:P-256",
      "--label",
      "ca",
      "--id",
      "c0",
    ]);
    await succeeds(token, ["cert", "--pin", PIN, "-i", "ca", "-d", "/CN=streamed", "--import"]);
    await withPkcs11js(
      token,
      `
const incomplete = Buffer.from("tsp11-incomplete", "ascii");
const point = Buffer.concat([Buffer.from([4, 65, 4]), Buffer.alloc(64, 7)]);
const common = [{ type: p11.CKA_TOKEN, value: true }];
p.C_FindObjectsInit(s, [{ type: p11.CKA_CLASS, value: p11.CKO_CERTIFICATE }]);
const [cert] = p.C_FindObjects(s, 1);
p.C_FindObjectsFinal(s);
const [der, subject] = p.C_GetAttributeValue(s, cert, [{ type: p11.CKA_VALUE }, { type: p11.CKA_SUBJECT }]);
for (let i = 0; i < 300; i++) {
  const id = Buffer.from([i % 7, i]);
  const label = { type: p11.CKA_LABEL, value: "obj-" + (i % 11) };
  const kind = i % 5;
  // Data objects have no id: unique labels, as objects equal in id, class and label are
  // listed in the module's order, which SoftHSM does not keep from one session to the next.
  if (kind === 0) p.C_CreateObject(s, [...common, { type: p11.CKA_LABEL, value: "data-" + i }, { type: p11.CKA_CLASS, value: p11.CKO_DATA },
    { type: p11.CKA_PRIVATE, value: i % 2 === 0 }, { type: p11.CKA_VALUE, value: Buffer.from("data " + i) }]);
  else if (kind === 1) p.C_CreateObject(s, [...common, label, { type: p11.CKA_CLASS, value: p11.CKO_CERTIFICATE },
    { type: p11.CKA_CERTIFICATE_TYPE, value: p11.CKC_X_509 }, { type: p11.CKA_ID, value: id },
    { type: p11.CKA_SUBJECT, value: subject.value }, { type: p11.CKA_VALUE, value: der.value }]);
  else if (kind === 2) p.C_CreateObject(s, [...common, label, { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
    { type: p11.CKA_KEY_TYPE, value: p11.CKK_AES }, { type: p11.CKA_VALUE, value: Buffer.alloc(16, i) },
    { type: p11.CKA_ID, value: i % 30 === 2 ? incomplete : id }, { type: p11.CKA_EXTRACTABLE, value: i % 3 === 0 },
    { type: p11.CKA_ENCRYPT, value: true }]);
  else p.C_CreateObject(s, [...common, label, { type: p11.CKA_CLASS, value: p11.CKO_PUBLIC_KEY },
    { type: p11.CKA_KEY_TYPE, value: p11.CKK_EC }, { type: p11.CKA_ID, value: i % 40 === 3 ? incomplete : id },
    { type: p11.CKA_EC_PARAMS, value: Buffer.from("06082a8648ce3d030107", "hex") },
    { type: p11.CKA_EC_POINT, value: point }, { type: p11.CKA_VERIFY, value: kind === 3 }]);
}
`,
    );
    return () => token[Symbol.asyncDispose]();
  }, 300_000);

  it("writes the whole document's bytes, in the whole listing's order", async () => {
    const streamed = await token.tsp11(["list-objects", "--json", "--pin", PIN]);
    expect(streamed.code, streamed.stderr).toBe(0);
    const batch = await token.tsp11(["batch", "--pin", PIN], {
      input: `${JSON.stringify({ op: "list-objects", args: {} })}\n`,
    });
    expect(batch.code, batch.stderr).toBe(0);
    const whole = (JSON.parse(batch.stdout) as { result: ObjectJson[] }).result;
    expect(whole.length).toBe(303);
    expect(new Set(whole.map((o) => o.class))).toEqual(
      new Set(["private-key", "public-key", "certificate", "secret-key", "data"]),
    );
    expect(whole.filter((o) => o.incomplete).length).toBeGreaterThan(0);
    expect(whole.filter((o) => o.subject === "CN=streamed").length).toBe(61);
    expect(streamed.stdout).toBe(`${JSON.stringify(whole, null, 2)}\n`);
    expect(streamed.stderr).toMatch(/incomplete key\(s\) left by an interrupted keygen/);
  });

  it("writes the piped rows of the whole listing, and the same objects by --type", async () => {
    const rows = await token.tsp11(["list-objects", "--pin", PIN]);
    expect(rows.code, rows.stderr).toBe(0);
    const whole = JSON.parse(
      (await token.tsp11(["list-objects", "--json", "--pin", PIN])).stdout,
    ) as ObjectJson[];
    const lines = rows.stdout.trimEnd().split("\n");
    expect(lines.map((line) => line.split("\t").slice(0, 3).join("/"))).toEqual(
      whole.map((o) => `${o.class}/${o.label}/${o.id}`),
    );
    for (const type of ["cert", "secret", "data", "pubkey"]) {
      const typed = await token.tsp11(["list-objects", "--json", "--pin", PIN, "--type", type]);
      expect(typed.code, typed.stderr).toBe(0);
      const cls = { cert: "certificate", secret: "secret-key", data: "data", pubkey: "public-key" }[
        type
      ];
      expect(JSON.parse(typed.stdout)).toEqual(whole.filter((o) => o.class === cls));
    }
  });

  it("writes an empty array as the whole document does", async () => {
    const empty = await token.tsp11(["list-objects", "--json", "--label", "none"]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toBe("[]\n");
  });
});
