/**
 * `tsp11 write-object --type privkey|pkcs12|secret` on a real SoftHSM token. Oracles: a
 * signature made on the token verifies with openssl and the original key's public half;
 * pkcs11-tool shows the objects, their ids and their flags; nothing is written on refusal.
 */
import { generateKeyPairSync } from "node:crypto";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import { softhsmAvailable, storeSnapshot, tempToken } from "../helpers/softhsm.js";
import { http, startServe } from "../helpers/serve.js";

const available = softhsmAvailable();
const FIXTURES = join(import.meta.dirname, "../fixtures/keys");
const PIN = "Imp-pin-4471";
const PASS = "secret";

interface Imported {
  class: string;
  id: string;
  label: string;
  keyType?: string;
  bits?: number;
  curve?: string;
  usage?: string[];
  subject?: string;
  uri: string;
}

/** The object files alone: SoftHSM rewrites token.object on each login. */
async function objectFiles(token: TempToken): Promise<string> {
  return (await storeSnapshot(token))
    .split("\n")
    .filter((line) => !line.endsWith("/token.object"))
    .join("\n");
}

/** pkcs11-tool -O lists every object: the blocks of the objects with this label. */
function blocksLabelled(listing: string, name: string): string {
  return listing
    .split(/\n(?=\S)/)
    .filter((block) => new RegExp(`\\n\\s+label:\\s+${name}\\n`).test(`${block}\n`))
    .join("\n");
}

describe.skipIf(!available)("write-object: keys onto the token", () => {
  let token: TempToken;
  let n = 0;
  const fixture = (name: string) => join(FIXTURES, name);
  const label = (base: string) => `${base}-${++n}`;

  async function tsp11(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
    return token.tsp11([...args, "--pin", PIN], env ? { env } : {});
  }

  async function importJson(args: string[], env?: NodeJS.ProcessEnv): Promise<Imported> {
    const result = await tsp11(["write-object", "--json", ...args], env);
    if (result.code !== 0)
      throw new Error(`write-object failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as Imported;
  }

  /** Signs on the token; openssl verifies with the public key file. */
  async function signatureVerifies(keyLabel: string, publicPem: string, eddsa = false) {
    const data = token.path(`${keyLabel}.txt`);
    const sig = token.path(`${keyLabel}.sig`);
    await writeFile(data, `data signed by ${keyLabel}\n`);
    const signed = await tsp11(["sign", "-i", keyLabel, "--input", data, "--output", sig]);
    expect(signed.stderr).toBe("");
    expect(signed.code).toBe(0);
    const args = eddsa
      ? [
          "pkeyutl",
          "-verify",
          "-pubin",
          "-inkey",
          publicPem,
          "-rawin",
          "-in",
          data,
          "-sigfile",
          sig,
        ]
      : ["dgst", "-sha256", "-verify", publicPem, "-signature", sig, data];
    const verified = await token.exec("openssl", args);
    expect(verified.stdout + verified.stderr).toMatch(
      /Verified OK|Signature Verified Successfully/,
    );
  }

  async function publicPemOf(privatePem: string): Promise<string> {
    const out = `${privatePem}.pub`;
    const result = await token.exec("openssl", ["pkey", "-in", privatePem, "-pubout", "-out", out]);
    expect(result.code).toBe(0);
    return out;
  }

  beforeAll(async () => {
    token = await tempToken({ label: "import", pin: PIN });
  });
  afterAll(async () => {
    await token[Symbol.asyncDispose]();
  });

  it.each([
    ["rsa2048.pkcs8.pem", "rsa", false],
    ["rsa2048.pkcs1.pem", "rsa", false],
    ["rsa2048.pkcs8.der", "rsa", false],
    ["p256.sec1.pem", "ec", false],
    ["p384.pkcs8.pem", "ec", false],
    ["k256.sec1.pem", "ec", false],
    ["ed25519.pkcs8.pem", "ec-edwards", true],
  ] as const)("%s: lands as a pair that signs what openssl verifies", async (file, keyType, ed) => {
    const name = label(file.split(".")[0] ?? "k");
    // A fresh token each time would be slow; --force keeps reruns of one fixture apart.
    const key = await importJson([
      "--type",
      "privkey",
      "-f",
      fixture(file),
      "--label",
      name,
      "--force",
    ]);
    expect(key).toMatchObject({ class: "private-key", label: name, keyType, usage: ["sign"] });
    await signatureVerifies(name, await publicPemOf(fixture(file)), ed);
  });

  it.each([
    ["rsa", 3072],
    ["rsa", 4096],
    ["ec", "secp521r1"],
    ["ec", "brainpoolP256r1"],
    ["ec", "brainpoolP384r1"],
  ] as const)("%s %s from a PKCS#8 file", async (type, size) => {
    const pair =
      type === "rsa"
        ? generateKeyPairSync("rsa", { modulusLength: size })
        : generateKeyPairSync("ec", { namedCurve: size });
    const file = token.path(`${type}-${size}.pem`);
    await writeFile(file, pair.privateKey.export({ format: "pem", type: "pkcs8" }));
    const name = label(`${type}${size}`);
    const key = await importJson(["--type", "privkey", "-f", file, "--label", name]);
    expect(key.keyType).toBe(type);
    await signatureVerifies(name, await publicPemOf(file));
  });

  it("id by keygen's SHA-1 rule: a certificate written later pairs with the key", async () => {
    const name = label("paired");
    const key = await importJson([
      "--type",
      "privkey",
      "-f",
      fixture("p256.sec1.pem"),
      "--label",
      name,
      "--force",
    ]);
    const cert = await importJson(["--type", "cert", "-f", fixture("leaf.pem"), "--force"]);
    expect(cert.id).toBe(key.id);
    expect(cert.label).toBe(name);
  });

  it("stored private, sensitive, not extractable, with only the asked usage (pkcs11-tool)", async () => {
    const name = label("flags");
    await importJson([
      "--type",
      "privkey",
      "-f",
      fixture("p384.pkcs8.pem"),
      "--label",
      name,
      "--usage",
      "sign,derive",
      "--force",
    ]);
    const listing = await token.pkcs11Tool([
      "-O",
      "--login",
      "--pin",
      PIN,
      "--label",
      name,
      "--type",
      "privkey",
    ]);
    const blocks = blocksLabelled(listing.stdout, name);
    expect(blocks).toMatch(/Private Key Object; EC/);
    expect(blocks).toMatch(/Usage:\s+sign, derive\n/);
    expect(blocks).toMatch(/Access:\s+sensitive/);
    expect(blocks).not.toMatch(/Access:.*\bextractable/);
  });

  it("--extractable and --no-public-key", async () => {
    const name = label("extractable");
    const key = await importJson([
      "--type",
      "privkey",
      "-f",
      fixture("ed25519.pkcs8.pem"),
      "--label",
      name,
      "--extractable",
      "--no-public-key",
      "--force",
    ]);
    expect(key.label).toBe(name);
    const listing = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    const blocks = blocksLabelled(listing.stdout, name);
    expect(blocks).toMatch(/Private Key Object; EC_EDWARDS[\s\S]*Access:.*extractable/);
    expect(blocks).not.toMatch(/Public Key Object/);
  });

  it("an encrypted PKCS#8: --key-pass, --key-pass-file; a wrong one is exit 4 and writes nothing", async () => {
    const name = label("enc");
    const before = await objectFiles(token);
    const wrong = await tsp11([
      "write-object",
      "--type",
      "privkey",
      "-f",
      fixture("rsa2048.enc.pem"),
      "--label",
      name,
      "--key-pass",
      "not-it",
      "--force",
    ]);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/wrong pass phrase/);
    expect(wrong.stderr).not.toContain("not-it");
    const none = await tsp11([
      "write-object",
      "--type",
      "privkey",
      "-f",
      fixture("rsa2048.enc.pem"),
      "--label",
      name,
    ]);
    expect(none.code).toBe(4);
    expect(none.stderr).toMatch(/--key-pass/);
    expect(await objectFiles(token)).toBe(before);

    const passFile = token.path("pass.txt");
    await writeFile(passFile, `${PASS}\n`);
    const key = await importJson([
      "--type",
      "privkey",
      "-f",
      fixture("rsa2048.enc.pem"),
      "--label",
      name,
      "--key-pass-file",
      passFile,
      "--force",
    ]);
    expect(key.keyType).toBe("rsa");
    await signatureVerifies(name, fixture("rsa2048.pub.pem"));
  });

  it.each([
    ["a certificate", "ca.pem"],
    ["a public key", "p256.pub.pem"],
    ["a PKCS#12 file", "leaf.p12"],
  ])("%s is no private key: exit 2, nothing written", async (_what, file) => {
    const before = await objectFiles(token);
    const result = await tsp11([
      "write-object",
      "--type",
      "privkey",
      "-f",
      fixture(file),
      "--label",
      label("bad"),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(await objectFiles(token)).toBe(before);
  });

  it("an existing key with the id is exit 6 unless --force", async () => {
    const name = label("dup");
    await importJson([
      "--type",
      "privkey",
      "-f",
      fixture("k256.sec1.pem"),
      "--label",
      name,
      "--force",
    ]);
    const again = await tsp11([
      "write-object",
      "--type",
      "privkey",
      "-f",
      fixture("k256.sec1.pem"),
      "--label",
      label("dup"),
    ]);
    expect(again.code).toBe(6);
  });

  describe("pkcs12", () => {
    let p12Token: TempToken;
    beforeAll(async () => {
      p12Token = await tempToken({ label: "p12", pin: PIN });
    });
    afterAll(async () => {
      await p12Token[Symbol.asyncDispose]();
    });

    async function importP12(file: string, extra: string[] = [], env?: NodeJS.ProcessEnv) {
      const result = await p12Token.tsp11(
        [
          "write-object",
          "--json",
          "--type",
          "pkcs12",
          "-f",
          fixture(file),
          "--pin",
          PIN,
          "--force",
          ...extra,
        ],
        env ? { env } : {},
      );
      return result;
    }

    it.each(["leaf.p12", "leaf-legacy-3des.p12"])(
      "%s: key pair, its certificate with the key's id and label, the CA with its own id",
      async (file) => {
        const result = await importP12(file, ["--key-pass", PASS]);
        // The second bundle carries the same certificates: skipped, said on stderr.
        expect(result.stderr).toMatch(
          /^(|(tsp11: warning: certificate .* is already on the token; not stored again\n)+)$/,
        );
        expect(result.code).toBe(0);
        const written = JSON.parse(result.stdout) as Imported[];
        const certificates = result.stderr === "" ? ["certificate", "certificate"] : [];
        expect(written.map((o) => o.class)).toEqual(["private-key", "public-key", ...certificates]);
        const [key] = written;
        const listed = await p12Token.tsp11([
          "list-objects",
          "--json",
          "--type",
          "cert",
          "--pin",
          PIN,
        ]);
        const certs = JSON.parse(listed.stdout) as Imported[];
        const leaf = certs.find((c) => c.subject === "CN=leaf");
        const ca = certs.find((c) => c.subject === "CN=Test CA");
        expect(key).toMatchObject({ label: "leaf key", keyType: "ec", curve: "prime256v1" });
        expect(leaf).toMatchObject({ id: key?.id, label: "leaf key", subject: "CN=leaf" });
        expect(ca).toMatchObject({ label: "Test CA", subject: "CN=Test CA" });
        expect(ca?.id).not.toBe(key?.id);
        // pkcs11-tool: the certificate is listed beside its key, with the same id.
        const listing = await p12Token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
        const blocks = blocksLabelled(listing.stdout, "leaf key");
        expect(blocks).toMatch(
          /Private Key Object; EC[^\n]*\n\s+label:\s+leaf key\n\s+ID:\s+(\w+)/,
        );
        expect(blocks).toMatch(
          /Certificate Object; type = X\.509 cert\n\s+label:\s+leaf key\n\s+subject:.*\n\s+serial:.*\n\s+ID:\s+(\w+)/,
        );
        const ids = [...blocks.matchAll(/ID:\s+(\w+)/g)].map((m) => m[1]);
        expect(new Set(ids)).toEqual(new Set([key?.id]));
        // And the key signs for the certificate's public key.
        const data = p12Token.path("d.txt");
        const sig = p12Token.path("d.sig");
        await writeFile(data, "p12\n");
        const signed = await p12Token.tsp11([
          "sign",
          "-i",
          "leaf key",
          "--input",
          data,
          "--output",
          sig,
          "--pin",
          PIN,
        ]);
        expect(signed.code).toBe(0);
        const pub = p12Token.path("leaf.pub");
        await p12Token.exec("openssl", [
          "x509",
          "-in",
          fixture("leaf.pem"),
          "-pubkey",
          "-noout",
          "-out",
          pub,
        ]);
        const verified = await p12Token.exec("openssl", [
          "dgst",
          "-sha256",
          "-verify",
          pub,
          "-signature",
          sig,
          data,
        ]);
        expect(verified.stdout).toMatch(/Verified OK/);
      },
    );

    it("a bundle with an empty password needs no --key-pass", async () => {
      const result = await importP12("leaf-nopass.p12", ["--label", "nopass"]);
      expect(result.code).toBe(0);
    });

    it("a wrong pass phrase is exit 4, nothing written", async () => {
      const before = await objectFiles(p12Token);
      const result = await importP12("leaf.p12", ["--key-pass", "wrong-one"]);
      expect(result.code).toBe(4);
      expect(result.stderr).not.toContain("wrong-one");
      expect(await objectFiles(p12Token)).toBe(before);
    });

    it("RC2-40 certificates (-legacy): exit 2 naming the cipher, or imported with the legacy provider", async () => {
      const plain = await importP12("leaf-legacy-rc2.p12", ["--key-pass", PASS]);
      if (plain.code !== 0) {
        expect(plain.code).toBe(2);
        expect(plain.stderr).toMatch(/RC2-40.*--openssl-legacy-provider/);
      }
      const legacy = await importP12("leaf-legacy-rc2.p12", ["--key-pass", PASS], {
        NODE_OPTIONS: "--openssl-legacy-provider",
      });
      expect(legacy.code).toBe(0);
    });
  });

  describe("secret", () => {
    it.each([
      ["aes", "000102030405060708090a0b0c0d0e0f", "AES"],
      ["aes", "00".repeat(32), "AES"],
      ["des3", "0123456789abcdeffedcba987654321089abcdef01234567", "DES3"],
      ["generic", "0102030405", "Generic secret"],
    ])("%s from --hex", async (keyType, hex, shown) => {
      const name = label(`secret-${keyType}`);
      const key = await importJson([
        "--type",
        "secret",
        "--key-type",
        keyType,
        "--hex",
        hex,
        "--label",
        name,
      ]);
      expect(key).toMatchObject({
        class: "secret-key",
        bits: (hex.length / 2) * 8,
        usage: ["encrypt", "decrypt"],
      });
      const listing = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
      const blocks = blocksLabelled(listing.stdout, name);
      expect(blocks).toMatch(new RegExp(`Secret Key Object; ${shown}`));
      expect(blocks).toMatch(/Access:\s+sensitive/);
    });

    it("from a raw file, with the key usable on the token", async () => {
      const file = token.path("aes.key");
      await writeFile(file, Buffer.alloc(16, 7));
      const name = label("aes-file");
      await importJson([
        "--type",
        "secret",
        "--key-type",
        "aes",
        "-f",
        file,
        "--label",
        name,
        "--extractable",
        "--usage",
        "encrypt",
      ]);
      const listing = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
      const blocks = blocksLabelled(listing.stdout, name);
      expect(blocks).toMatch(/Usage:\s+encrypt\n/);
      expect(blocks).toMatch(/Access:.*extractable/);
    });

    it.each([
      [["--key-type", "aes", "--hex", "0011"], /16, 24, 32 bytes/],
      [["--key-type", "des3", "--hex", "00".repeat(16)], /24 bytes/],
      [["--hex", "00".repeat(16)], /--key-type/],
      [["--key-type", "aes", "--hex", "zz"], /hex/],
    ])("%j is refused with exit 2", async (args, message) => {
      const result = await tsp11([
        "write-object",
        "--type",
        "secret",
        ...args,
        "--label",
        label("bad"),
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    });
  });

  it("options of the key types are refused for a certificate", async () => {
    const copy = token.path("ca-copy.pem");
    await copyFile(fixture("ca.pem"), copy);
    const result = await tsp11(["write-object", "--type", "cert", "-f", copy, "--key-pass", "x"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--key-pass does not apply/);
  });

  it("serve: POST .../objects takes privkey (keyPass never logged), pkcs12 and secret", async () => {
    const serveToken = await tempToken({ label: "srv", pin: PIN });
    const server = await startServe(serveToken.env);
    try {
      const pinHeader = { headers: { "X-PKCS11-PIN": PIN } };
      const keyPass = "Srv-pass-6613";
      const encrypted = token.path("srv-enc.pem");
      await serveToken.exec("openssl", [
        "pkcs8",
        "-topk8",
        "-in",
        fixture("p256.sec1.pem"),
        "-passout",
        `pass:${keyPass}`,
        "-out",
        encrypted,
      ]);
      const key = await http(server.target, "POST", "/v1/tokens/srv/objects", {
        body: {
          type: "privkey",
          pem: await readFile(encrypted, "utf8"),
          keyPass,
          label: "srv-key",
        },
        ...pinHeader,
      });
      expect(key.status).toBe(201);
      expect(key.json).toMatchObject({ class: "private-key", label: "srv-key", keyType: "ec" });
      const wrong = await http(server.target, "POST", "/v1/tokens/srv/objects", {
        body: {
          type: "privkey",
          pem: await readFile(encrypted, "utf8"),
          keyPass: "nope",
          label: "x",
        },
        ...pinHeader,
      });
      expect(wrong.status).toBe(401);
      const bundle = await http(server.target, "POST", "/v1/tokens/srv/objects", {
        body: {
          type: "pkcs12",
          derBase64: (await readFile(fixture("leaf.p12"))).toString("base64"),
          keyPass: PASS,
          label: "srv-p12",
          force: true,
        },
        ...pinHeader,
      });
      expect(bundle.status).toBe(201);
      expect((bundle.json as Imported[]).map((o) => o.class)).toContain("certificate");
      const secret = await http(server.target, "POST", "/v1/tokens/srv/objects", {
        body: { type: "secret", keyType: "aes", hex: "00".repeat(32), label: "srv-aes" },
        ...pinHeader,
      });
      expect(secret.status).toBe(201);
      expect(secret.json).toMatchObject({ class: "secret-key", keyType: "aes", bits: 256 });
      expect(server.stderr()).not.toContain(keyPass);
    } finally {
      await server.stop();
      await serveToken[Symbol.asyncDispose]();
    }
  });
});
