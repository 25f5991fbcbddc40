/**
 * Selection by URI: every URI tsp11 prints selects exactly its object (list-objects,
 * read-object, delete-object), whatever class and however its label and id must be encoded,
 * next to objects that share its id or label; conflicting selectors are exit 2.
 */
import { readFile, writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import {
  PIN,
  SOFTHSM,
  softhsmAvailable,
  storeSnapshot,
  tempToken,
  withPkcs11js,
} from "../helpers/softhsm.js";

const available = softhsmAvailable();

interface Listed {
  class: string;
  label: string;
  id: string;
  uri: string;
}

const ODD_LABEL = "k;2 /é%?&=";

async function ok(token: TempToken, args: string[]): Promise<string> {
  const result = await token.tsp11(args);
  if (result.code !== 0) throw new Error(`tsp11 ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** Objects of every class, sharing ids and labels, with labels and ids that need encoding. */
async function populate(token: TempToken): Promise<void> {
  const pin = ["--pin", PIN];
  await ok(token, ["keygen", "--key-type", "ec:P-256", "--label", "k1", "--id", "01", ...pin]);
  await ok(token, ["cert", "-i", "k1", "-d", "/CN=k1", "--import", ...pin]);
  await ok(token, [
    "keygen",
    "--key-type",
    "ec:P-256",
    "--label",
    ODD_LABEL,
    "--id",
    "00ff25",
    ...pin,
  ]);
  // Secret keys beside them: the same id and label as the pair, and empty labels and ids.
  await withPkcs11js(
    token,
    `const secret = (label, id) => p.C_CreateObject(s, [
      { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
      { type: p11.CKA_KEY_TYPE, value: p11.CKK_AES },
      { type: p11.CKA_TOKEN, value: true },
      { type: p11.CKA_VALUE, value: Buffer.alloc(16, 7) },
      { type: p11.CKA_LABEL, value: Buffer.from(label) },
      { type: p11.CKA_ID, value: Buffer.from(id, "hex") },
    ]);
    secret("k1", "01");
    secret("", "");
    secret("x", "");
    secret("", "00ff25");`,
  );
  await writeFile(token.path("notes.txt"), "notes\n");
  for (const [label, extra] of [
    ["notes", []],
    ["k1", []],
    ["a b;c/d?e=f&g%", []],
    ["private notes", ["--private"]],
  ] as const) {
    await ok(token, [
      "write-object",
      "--type",
      "data",
      "-f",
      token.path("notes.txt"),
      "--label",
      label,
      ...extra,
      ...pin,
    ]);
  }
}

async function listAll(token: TempToken, extra: string[] = []): Promise<Listed[]> {
  return JSON.parse(
    await ok(token, ["list-objects", "--json", "--pin", PIN, ...extra]),
  ) as Listed[];
}

describe.skipIf(!available)("every printed URI selects exactly its object", () => {
  let token: TempToken;
  let objects: Listed[];

  beforeAll(async () => {
    token = await tempToken();
    await populate(token);
    objects = await listAll(token);
    return () => token[Symbol.asyncDispose]();
  });

  it("lists every class, and no two objects with the same URI", () => {
    expect(objects).toHaveLength(13);
    expect(new Set(objects.map((o) => o.class))).toEqual(
      new Set(["private-key", "public-key", "certificate", "secret-key", "data"]),
    );
    expect(new Set(objects.map((o) => o.uri)).size).toBe(objects.length);
    expect(objects.map((o) => o.uri)).toContain(
      objects.find((o) => o.class === "secret-key" && o.label === "" && o.id === "")?.uri,
    );
  });

  it("list-objects --uri returns exactly the object the URI was printed for", async () => {
    for (const object of objects) {
      const found = await listAll(token, ["--uri", object.uri]);
      expect(found, object.uri).toEqual([object]);
    }
  });

  it("read-object --uri reads exactly that object, its type taken from the URI", async () => {
    for (const object of objects) {
      const read = await token.tsp11(["read-object", "--uri", object.uri, "--json", "--pin", PIN]);
      if (object.class === "private-key") {
        expect(read.code).toBe(2);
        expect(read.stderr).toMatch(/add --type pubkey/);
        const half = await token.tsp11([
          "read-object",
          "--type",
          "pubkey",
          "--uri",
          object.uri,
          "--json",
          "--pin",
          PIN,
        ]);
        expect(half.code, half.stderr).toBe(0);
        expect(JSON.parse(half.stdout)).toMatchObject({ id: object.id, label: object.label });
      } else if (object.class === "secret-key") {
        expect(read.code).toBe(2);
      } else {
        expect(read.code, `${object.uri}: ${read.stderr}`).toBe(0);
        expect(JSON.parse(read.stdout)).toMatchObject({
          class: object.class,
          id: object.id,
          label: object.label,
          uri: object.uri,
        });
      }
    }
  });
});

describe.skipIf(!available)("delete-object --uri", () => {
  it("deletes exactly the object each printed URI names, one after the other", async () => {
    await using token = await tempToken();
    await populate(token);
    let remaining = await listAll(token);
    // Public keys first: their private halves, sharing label and id, must stay.
    const order = [...remaining].sort(
      (a, b) => Number(b.class === "public-key") - Number(a.class === "public-key"),
    );
    for (const object of order) {
      const result = await token.tsp11([
        "delete-object",
        "--uri",
        object.uri,
        "--yes",
        "--json",
        "--pin",
        PIN,
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout), object.uri).toEqual([object]);
      remaining = remaining.filter((o) => o !== object);
      expect(await listAll(token)).toEqual(remaining);
    }
    expect(remaining).toEqual([]);
  });

  it("never deletes the private key for type=public (the issue's case)", async () => {
    await using token = await tempToken({ label: "demo" });
    await ok(token, ["keygen", "--key-type", "ec:P-256", "--label", "x", "--pin", PIN]);
    const result = await token.tsp11([
      "delete-object",
      "--uri",
      "pkcs11:token=demo;object=x;type=public",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/deleted 1 object$/m);
    expect((await listAll(token)).map((o) => o.class)).toEqual(["private-key"]);
  });

  it("needs an id or label: a URI naming only a class deletes nothing (exit 2)", async () => {
    await using token = await tempToken({ label: "demo" });
    await ok(token, ["keygen", "--key-type", "ec:P-256", "--label", "x", "--pin", PIN]);
    const before = await storeSnapshot(token);
    const result = await token.tsp11([
      "delete-object",
      "--uri",
      "pkcs11:token=demo;type=public",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(result.code).toBe(2);
    expect(await storeSnapshot(token)).toBe(before);
  });
});

describe.skipIf(!available)("selection by URI", () => {
  let token: TempToken;

  beforeAll(async () => {
    token = await tempToken({ label: "demo" });
    await ok(token, [
      "keygen",
      "--key-type",
      "ec:P-256",
      "--label",
      "x",
      "--id",
      "01",
      "--pin",
      PIN,
    ]);
    await ok(token, ["cert", "-i", "x", "-d", "/CN=x", "--import", "--pin", PIN]);
    return () => token[Symbol.asyncDispose]();
  });

  it("list-objects --uri filters by object, id and type; no match is an empty list", async () => {
    expect(
      (await listAll(token, ["--uri", "pkcs11:token=demo;type=cert"])).map((o) => o.class),
    ).toEqual(["certificate"]);
    expect(
      (await listAll(token, ["--uri", "pkcs11:object=x;id=%01;type=private"])).map((o) => o.class),
    ).toEqual(["private-key"]);
    expect(await listAll(token, ["--uri", "pkcs11:object=y"])).toEqual([]);
    expect(await listAll(token, ["--uri", "pkcs11:id=%02"])).toEqual([]);
    expect(await listAll(token, ["--uri", "pkcs11:object=x;type=secret-key"])).toEqual([]);
  });

  it("reads a certificate by a URI with type=cert and no --type", async () => {
    const byUri = await token.tsp11([
      "read-object",
      "--uri",
      "pkcs11:token=demo;object=x;type=cert",
    ]);
    const byType = await token.tsp11(["read-object", "--type", "cert", "--label", "x"]);
    expect(byUri.code, byUri.stderr).toBe(0);
    expect(byUri.stdout).toBe(byType.stdout);
    expect(byUri.stdout).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it("is exit 3 when no token, or no object a command needs, matches", async () => {
    for (const args of [
      ["list-objects", "--uri", "pkcs11:token=other"],
      ["list-objects", "--uri", "pkcs11:token=demo;serial=0000"],
      ["list-objects", "--uri", "pkcs11:token=demo;model=HSM"],
      ["list-objects", "--uri", "pkcs11:slot-description=none"],
      ["list-objects", "--uri", "pkcs11:library-manufacturer=OpenSC"],
      ["list-objects", "--uri", "pkcs11:library-version=1.0"],
      ["read-object", "--uri", "pkcs11:object=y;type=cert"],
      ["read-object", "--uri", "pkcs11:object=x;type=public;id=%02"],
      ["sign", "--uri", "pkcs11:object=x;type=public", "--input", "-"],
      ["delete-object", "--uri", "pkcs11:object=x;type=data", "--yes"],
    ]) {
      const result = await token.tsp11([...args, "--pin", PIN], { input: "data" });
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(3);
    }
  });

  it("selects the module's tokens when the library attributes match", async () => {
    const info = JSON.parse(await ok(token, ["info", "--json"])) as {
      manufacturer: string;
      libraryDescription: string;
      libraryVersion: string;
    };
    const uri =
      `pkcs11:library-manufacturer=${encodeURIComponent(info.manufacturer)}` +
      `;library-description=${encodeURIComponent(info.libraryDescription)}` +
      `;library-version=${info.libraryVersion};object=x;type=private`;
    expect((await listAll(token, ["--uri", uri])).map((o) => o.class)).toEqual(["private-key"]);
  });

  it("signs with the private key a URI names", async () => {
    const result = await token.tsp11(
      ["sign", "--uri", "pkcs11:token=demo;object=x;type=private", "--pin", PIN],
      { input: "data" },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdoutBytes.length).toBeGreaterThan(60);
  });

  it.each([
    [["list-objects", "--label", "y"], "pkcs11:object=x", /--label "y" and the URI's object="x"/],
    [["list-objects", "--id", "02"], "pkcs11:id=%01", /--id 02 and the URI's id=01/],
    [
      ["list-objects", "--type", "cert"],
      "pkcs11:type=public",
      /--type cert and the URI's type=public/,
    ],
    [["list-objects", "--token-label", "other"], "pkcs11:token=demo", /--token-label "other"/],
    [["list-objects", "--serial", "0000"], "pkcs11:serial=1111", /--serial "0000"/],
    [["list-objects", "--slot", "7"], "pkcs11:slot-id=8", /--slot 7 and the URI's slot-id=8/],
    [["delete-object", "--label", "y", "--yes"], "pkcs11:object=x", /conflicting selectors/],
    [
      ["delete-object", "--type", "privkey", "--yes"],
      "pkcs11:object=x;type=public",
      /--type privkey and the URI's type=public/,
    ],
    [
      ["read-object", "--type", "cert"],
      "pkcs11:object=x;type=public",
      /--type cert and the URI's type=public/,
    ],
    [["read-object", "--label", "y"], "pkcs11:object=x;type=cert", /--label "y"/],
    [["sign", "-i", "y"], "pkcs11:object=x", /-k\/--key "y" and the URI's object="x"/],
    [["verify", "--id", "02", "--signature", "/dev/null"], "pkcs11:id=%01", /--id 02/],
    [
      ["list-objects", "--module", SOFTHSM],
      "pkcs11:token=demo?module-path=/usr/lib/other.so",
      /--module/,
    ],
    [["list-objects", "--pin", "9999"], "pkcs11:token=demo?pin-value=1234", /conflicting PINs/],
  ])("refuses %j with %s (exit 2, nothing changed)", async (args, uri, why) => {
    const before = await storeSnapshot(token);
    const result = await token.tsp11(
      [...args, "--uri", uri, ...(args.includes("--pin") ? [] : ["--pin", PIN])],
      {
        input: "data",
      },
    );
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(why);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(await storeSnapshot(token)).toBe(before);
  });

  it("takes the same value given twice", async () => {
    const result = await listAll(token, [
      "--label",
      "x",
      "--type",
      "cert",
      "--token-label",
      "demo",
      "--uri",
      "pkcs11:token=demo;object=x;type=cert",
    ]);
    expect(result.map((o) => o.class)).toEqual(["certificate"]);
  });

  it("lets a URI naming the token override TSP11_TOKEN, and reads pin-value and pin-source", async () => {
    await writeFile(token.path("pin.txt"), `${PIN}\n`);
    for (const uri of [
      `pkcs11:token=demo;object=x?pin-value=${PIN}`,
      `pkcs11:token=demo;object=x?pin-source=${token.path("pin.txt")}`,
      `pkcs11:token=demo;object=x?pin-source=file://${token.path("pin.txt")}`,
      `pkcs11:token=demo;object=x?module-path=${SOFTHSM}&pin-value=${PIN}`,
    ]) {
      const result = await token.tsp11(["list-objects", "--json", "--uri", uri], {
        env: { TSP11_TOKEN: "elsewhere", TSP11_PIN: "9999" },
      });
      expect(result.code, `${uri}: ${result.stderr}`).toBe(0);
      // The private key is listed: the URI's PIN logged in.
      expect((JSON.parse(result.stdout) as Listed[]).map((o) => o.class)).toContain("private-key");
    }
  });

  it("refuses a URI with an attribute it cannot honour (exit 2)", async () => {
    for (const uri of [
      "pkcs11:object=x;x-vendor=1",
      "pkcs11:object=x;object=y",
      "pkcs11:?pin-source=|cat",
    ]) {
      const result = await token.tsp11(["list-objects", "--uri", uri, "--pin", PIN]);
      expect(result.code, uri).toBe(2);
    }
  });
});

/** Stores a certificate as another program could: no uniqueness checks. */
async function storeCertificate(token: TempToken, pemPath: string, label: string): Promise<void> {
  await withPkcs11js(
    token,
    `const text = (await import("node:fs")).readFileSync(${JSON.stringify(pemPath)}, "utf8");
    const der = Buffer.from(text.replace(/-----[^-]+-----|\\s/g, ""), "base64");
    p.C_CreateObject(s, [
      { type: p11.CKA_CLASS, value: p11.CKO_CERTIFICATE },
      { type: p11.CKA_CERTIFICATE_TYPE, value: p11.CKC_X_509 },
      { type: p11.CKA_TOKEN, value: true },
      { type: p11.CKA_LABEL, value: ${JSON.stringify(label)} },
      { type: p11.CKA_ID, value: Buffer.from("01", "hex") },
      { type: p11.CKA_SUBJECT, value: Buffer.from("3000", "hex") },
      { type: p11.CKA_VALUE, value: der },
    ]);`,
  );
}

describe.skipIf(!available)("read-object with several matches", () => {
  it("reads one of identical certificates; for different ones names the selector that tells them apart", async () => {
    await using token = await tempToken({ label: "demo" });
    await ok(token, [
      "keygen",
      "--key-type",
      "ec:P-256",
      "--label",
      "k",
      "--id",
      "01",
      "--pin",
      PIN,
    ]);
    for (const name of ["x", "y", "z"]) {
      await ok(token, [
        "cert",
        "-i",
        "k",
        "-d",
        `/CN=${name}`,
        "-o",
        token.path(`${name}.pem`),
        "--pin",
        PIN,
      ]);
    }
    await storeCertificate(token, token.path("x.pem"), "x");
    await storeCertificate(token, token.path("x.pem"), "x");

    // Two copies of one certificate, selected by --id: the same bytes whichever is read.
    const identical = await token.tsp11(["read-object", "--type", "cert", "--id", "01"]);
    expect(identical.code, identical.stderr).toBe(0);
    expect(identical.stdout).toBe(await readFile(token.path("x.pem"), "utf8"));

    // A different certificate under the same id: the label tells them apart, not the id.
    await storeCertificate(token, token.path("y.pem"), "y");
    const byId = await token.tsp11(["read-object", "--type", "cert", "--id", "01"]);
    expect(byId.code).toBe(2);
    expect(byId.stderr).not.toMatch(/name one by --id/);
    expect(byId.stderr).toMatch(/3 certificates match id 01; name one by its label/);
    const byLabel = await token.tsp11([
      "read-object",
      "--type",
      "cert",
      "--id",
      "01",
      "--label",
      "y",
    ]);
    expect(byLabel.stdout).toBe(await readFile(token.path("y.pem"), "utf8"));

    // Different certificates sharing label and id: no selector tells them apart, and it says so.
    await storeCertificate(token, token.path("z.pem"), "y");
    const both = await token.tsp11(["read-object", "--type", "cert", "--id", "01", "--label", "y"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/share label and id, so no selector tells them apart/);
  });
});
