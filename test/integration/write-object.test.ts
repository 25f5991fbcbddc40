/**
 * `tsp11 write-object` with certificates issued by an OpenSSL test CA for token keys,
 * judged by pkcs11-tool (byte-identical read-back), p11tool (listing) and the OpenSSL pkcs11
 * engine (the key and the stored certificate used together by URI).
 */
import { createHash, createPublicKey, randomBytes, X509Certificate } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestCa } from "../helpers/pki.js";
import {
  canonicalSpki,
  engineEnv,
  execQuiet,
  issue,
  makeCa,
  objectListing,
  openssl,
  pkcs11Tool,
  readObject,
  toDer,
  tsp11,
} from "../helpers/pki.js";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import { SO_PIN, SOFTHSM, softhsmAvailable, storeSnapshot, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

/**
 * The store's object files: SoftHSM rewrites token.object on every successful login (its
 * PIN-failure flags), so only the objects themselves show whether anything was written.
 */
async function objectFiles(token: TempToken): Promise<string> {
  const snapshot = await storeSnapshot(token);
  return snapshot
    .split("\n")
    .filter((line) => !line.endsWith("/token.object"))
    .join("\n");
}

/** A PIN that cannot turn up in base64 or hex by chance. */
const PIN = "Wo-pin-8820";

interface WriteJson {
  class: string;
  id: string;
  label: string;
  subject?: string;
  issuer?: string;
  serial?: string;
  uri: string;
}

interface ObjectJson {
  class: string;
  label: string;
  id: string;
  subject?: string;
  issuer?: string;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
}

describe.skipIf(!available)("write-object", () => {
  let token: TempToken;
  let ca: TestCa;
  const outputs: RunResult[] = [];
  const file = (name: string) => token.path(name);

  async function run(args: string[], input?: string | Buffer, on = token): Promise<RunResult> {
    const result = await tsp11(on, args, input === undefined ? {} : { input });
    outputs.push(result);
    return result;
  }

  async function write(args: string[], input?: string | Buffer, on = token): Promise<WriteJson> {
    const result = await run(["write-object", "--pin", PIN, "--json", ...args], input, on);
    if (result.code !== 0)
      throw new Error(`write-object failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as WriteJson;
  }

  async function objects(args: string[] = []): Promise<ObjectJson[]> {
    const result = await run(["list-objects", "--pin", PIN, "--json", ...args]);
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as ObjectJson[];
  }

  /** What openssl says about a PEM certificate. */
  async function certFields(pem: string) {
    const { stdout } = await openssl(token, [
      "x509",
      "-in",
      pem,
      "-noout",
      "-subject",
      "-issuer",
      "-serial",
      "-startdate",
      "-enddate",
      "-nameopt",
      "RFC2253",
    ]);
    const field = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(stdout)?.[1] ?? "";
    const iso = (date: string) => new Date(date).toISOString().replace(/\.000Z$/, "Z");
    return {
      subject: field("subject"),
      issuer: field("issuer"),
      serial: field("serial").toLowerCase(),
      notBefore: iso(field("notBefore")),
      notAfter: iso(field("notAfter")),
    };
  }

  async function keygen(keyType: string, label: string, id: string, on = token): Promise<void> {
    const result = await run(
      ["keygen", "--pin", PIN, "--key-type", keyType, "--label", label, "--id", id],
      undefined,
      on,
    );
    if (result.code !== 0) throw new Error(`keygen failed: ${result.stderr}`);
  }

  /** A CSR from the token key, and the CA's certificate for it (PEM and DER files). */
  async function certify(label: string, subject: string): Promise<void> {
    const csr = await run([
      "req",
      "--pin",
      PIN,
      "-i",
      label,
      "-d",
      subject,
      "-o",
      file(`${label}.csr`),
    ]);
    if (csr.code !== 0) throw new Error(`req failed: ${csr.stderr}`);
    await issue(token, ca, file(`${label}.csr`), file(`${label}.pem`));
    await toDer(token, file(`${label}.pem`), file(`${label}.der`));
  }

  beforeAll(async () => {
    token = await tempToken({ label: "wo", pin: PIN });
    ca = await makeCa(token);
    await keygen("rsa:2048", "rsa-1", "01");
    await keygen("ec:prime256v1", "ec-1", "02");
    await keygen("rsa:2048", "rsa-2", "03");
    await certify("rsa-1", "/O=tsp11 tests/CN=rsa-1.example.com");
    await certify("ec-1", "/O=tsp11 tests/CN=ec-1.example.com");
    // A certificate for a key that is not on the token.
    await openssl(token, [
      "req",
      "-new",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      file("other.key"),
      "-subj",
      "/CN=other",
      "-out",
      file("other.csr"),
    ]);
    await issue(token, ca, file("other.csr"), file("other.pem"));
  });

  it("stores a PEM certificate under its key's id and label, byte-identical", async () => {
    const json = await write(["--type", "cert", "-f", file("rsa-1.pem")]);
    const fields = await certFields(file("rsa-1.pem"));
    expect(json).toEqual({
      class: "certificate",
      id: "01",
      label: "rsa-1",
      subject: fields.subject,
      issuer: fields.issuer,
      serial: fields.serial,
      uri: expect.stringMatching(/;token=wo;id=%01;object=rsa-1;type=cert$/) as unknown,
    });
    expect(fields.subject).toBe("CN=rsa-1.example.com,O=tsp11 tests");
    const back = await readObject(token, "cert", ["--id", "01"], file("back-01.der"));
    expect(back.equals(await readFile(file("rsa-1.der")))).toBe(true);
  });

  it("stores a DER certificate with --id, taking the key's label", async () => {
    const json = await write(["--type", "cert", "-f", file("ec-1.der"), "--id", "02"]);
    expect(json).toMatchObject({ class: "certificate", id: "02", label: "ec-1" });
    const back = await readObject(token, "cert", ["--id", "02"], file("back-02.der"));
    expect(back.equals(await readFile(file("ec-1.der")))).toBe(true);
  });

  it("list-objects shows the certificates' subject, issuer, serial and validity", async () => {
    const certs = await objects(["--type", "cert"]);
    for (const [id, label] of [
      ["01", "rsa-1"],
      ["02", "ec-1"],
    ] as const) {
      const listed = certs.find((c) => c.id === id);
      expect(listed).toMatchObject({
        class: "certificate",
        label,
        ...(await certFields(file(`${label}.pem`))),
      });
    }
  });

  it("p11tool lists the certificates with the right subjects", async () => {
    const list = await execQuiet(token, "p11tool", [
      "--provider",
      SOFTHSM,
      "--list-all-certs",
      "pkcs11:token=wo",
    ]);
    expect(list.code).toBe(0);
    const urls = [...list.stdout.matchAll(/URL: (\S+)/g)].map((m) => m[1] ?? "");
    expect(urls).toHaveLength(2);
    const subjects: string[] = [];
    for (const url of urls) {
      const exported = await execQuiet(token, "p11tool", ["--provider", SOFTHSM, "--export", url]);
      expect(exported.code).toBe(0);
      const { stdout } = await openssl(
        token,
        ["x509", "-noout", "-subject", "-nameopt", "RFC2253"],
        exported.stdout,
      );
      subjects.push(stdout.trim());
    }
    expect(subjects.sort()).toEqual([
      "subject=CN=ec-1.example.com,O=tsp11 tests",
      "subject=CN=rsa-1.example.com,O=tsp11 tests",
    ]);
    expect(list.stdout).toMatch(/object=rsa-1;type=cert/);
  });

  it("the OpenSSL pkcs11 engine uses the token key together with the stored certificate", async () => {
    const env = engineEnv();
    for (const label of ["rsa-1", "ec-1"]) {
      const id = label === "rsa-1" ? "01" : "02";
      const stored = file(`stored-${label}.pem`);
      await readObject(token, "cert", ["--id", id], file(`stored-${label}.der`));
      await openssl(token, [
        "x509",
        "-inform",
        "DER",
        "-in",
        file(`stored-${label}.der`),
        "-out",
        stored,
      ]);
      const key = `pkcs11:token=wo;object=${label};type=private;pin-value=${PIN}`;
      // The token key acts as CA with the stored certificate; openssl refuses a key that
      // does not match the certificate ("CA certificate and CA private key do not match").
      const leaf = file(`leaf-by-${label}.pem`);
      const signed = await execQuiet(
        token,
        "openssl",
        [
          "x509",
          "-req",
          "-in",
          file("other.csr"),
          "-CA",
          stored,
          "-CAkey",
          key,
          "-CAkeyform",
          "engine",
          "-engine",
          "pkcs11",
          "-CAcreateserial",
          "-days",
          "1",
          "-out",
          leaf,
        ],
        { env },
      );
      expect(signed.code, signed.stderr).toBe(0);
      const issuer = new X509Certificate(await readFile(stored));
      expect(new X509Certificate(await readFile(leaf)).verify(issuer.publicKey)).toBe(true);
      // A signature made by the engine verifies with the stored certificate's key.
      const digest = createHash("sha256").update("provisioned").digest();
      await writeFile(file("digest.bin"), digest);
      const sig = await execQuiet(
        token,
        "openssl",
        [
          "pkeyutl",
          "-engine",
          "pkcs11",
          "-keyform",
          "engine",
          "-sign",
          "-inkey",
          key,
          "-in",
          file("digest.bin"),
          "-pkeyopt",
          "digest:sha256",
          "-out",
          file(`sig-${label}`),
        ],
        { env },
      );
      expect(sig.code, sig.stderr).toBe(0);
      const check = await openssl(token, [
        "pkeyutl",
        "-verify",
        "-certin",
        "-inkey",
        stored,
        "-in",
        file("digest.bin"),
        "-sigfile",
        file(`sig-${label}`),
        "-pkeyopt",
        "digest:sha256",
      ]);
      expect(check.stdout).toMatch(/Signature Verified Successfully/);
    }
    // The check is real: the RSA key with the EC key's certificate is refused.
    const mismatched = await execQuiet(
      token,
      "openssl",
      [
        "x509",
        "-req",
        "-in",
        file("other.csr"),
        "-CA",
        file("stored-ec-1.pem"),
        "-CAkey",
        `pkcs11:token=wo;object=rsa-1;type=private;pin-value=${PIN}`,
        "-CAkeyform",
        "engine",
        "-engine",
        "pkcs11",
        "-CAcreateserial",
        "-days",
        "1",
        "-out",
        file("never.pem"),
      ],
      { env },
    );
    expect(mismatched.code).not.toBe(0);
    expect(mismatched.stderr).toMatch(/do not match/);
    // And a self-signed certificate straight from the key URI has the stored one's public key.
    const self = await execQuiet(
      token,
      "openssl",
      [
        "req",
        "-new",
        "-x509",
        "-days",
        "1",
        "-engine",
        "pkcs11",
        "-keyform",
        "engine",
        "-key",
        `pkcs11:token=wo;object=rsa-1;type=private;pin-value=${PIN}`,
        "-subj",
        "/CN=self",
        "-out",
        file("self.pem"),
      ],
      { env },
    );
    expect(self.code, self.stderr).toBe(0);
    const pub = async (pem: string) =>
      canonicalSpki(
        Buffer.from((await openssl(token, ["x509", "-in", pem, "-noout", "-pubkey"])).stdout),
      );
    expect((await pub(file("self.pem"))).equals(await pub(file("rsa-1.pem")))).toBe(true);
  });

  describe("refuses input that is not what --type says (exit 2, token unchanged)", () => {
    beforeAll(async () => {
      await writeFile(file("garbage.bin"), randomBytes(300));
      await writeFile(file("empty.bin"), "");
      const der = await readFile(file("rsa-1.der"));
      await writeFile(file("truncated.der"), der.subarray(0, der.length >> 1));
      const pem = await readFile(file("rsa-1.pem"), "utf8");
      await writeFile(file("truncated.pem"), pem.split("\n").slice(0, 8).join("\n") + "\n");
      await writeFile(
        file("badbase64.pem"),
        pem.replace(/\n[A-Za-z0-9+/]{64}\n/, "\n!!!!not*base64!!!!\n"),
      );
      await writeFile(file("trailing.der"), Buffer.concat([der, Buffer.from([0, 0, 0])]));
      await openssl(token, ["pkey", "-in", ca.key, "-pubout", "-out", file("ca-pub.pem")]);
      await openssl(token, [
        "pkey",
        "-in",
        ca.key,
        "-pubout",
        "-outform",
        "DER",
        "-out",
        file("ca-pub.der"),
      ]);
      await mkdir(file("a-directory"));
    });

    it.each([
      ["cert", "garbage.bin", /not a PEM or DER X\.509 certificate/],
      ["cert", "empty.bin", /the input is empty/],
      ["cert", "truncated.der", /not a PEM or DER X\.509 certificate/],
      ["cert", "truncated.pem", /malformed PEM/],
      ["cert", "badbase64.pem", /bad base64/],
      ["cert", "trailing.der", /3 trailing bytes after the structure/],
      ["cert", "rsa-1.csr", /found PEM CERTIFICATE REQUEST/],
      ["cert", "caKey.pem", /found PEM PRIVATE KEY/],
      ["cert", "ca-pub.pem", /found PEM PUBLIC KEY/],
      ["cert", "ca-pub.der", /not a PEM or DER X\.509 certificate/],
      ["pubkey", "rsa-1.pem", /found PEM CERTIFICATE/],
      ["pubkey", "rsa-1.der", /SubjectPublicKeyInfo/],
      ["pubkey", "rsa-1.csr", /found PEM CERTIFICATE REQUEST/],
      ["pubkey", "garbage.bin", /SubjectPublicKeyInfo/],
      ["cert", "no-such-file.pem", /read input file .*no-such-file\.pem: no such file/],
      ["cert", "a-directory", /read input file .*a-directory: is a directory/],
    ])("--type %s -f %s", async (type, name, message) => {
      const before = await objectListing(token, PIN);
      const snapshot = await objectFiles(token);
      const result = await run(["write-object", "--pin", PIN, "--type", type, "-f", file(name)]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^tsp11: /);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(await objectListing(token, PIN)).toBe(before);
      expect(await objectFiles(token)).toBe(snapshot);
    });
  });

  it("refuses a certificate that does not match the key of --id (exit 6) unless --force", async () => {
    const before = await objectListing(token, PIN);
    for (const [name, id] of [
      ["other.pem", "03"],
      ["ec-1.pem", "03"],
    ] as const) {
      const result = await run([
        "write-object",
        "--pin",
        PIN,
        "--type",
        "cert",
        "-f",
        file(name),
        "--id",
        id,
      ]);
      expect(result.code).toBe(6);
      expect(result.stderr).toBe(
        "tsp11: write-object: the certificate's public key does not match the key with id 03 (use --force to store it anyway)\n",
      );
    }
    expect(await objectListing(token, PIN)).toBe(before);
    const forced = await run([
      "write-object",
      "--pin",
      PIN,
      "--json",
      "--type",
      "cert",
      "-f",
      file("other.pem"),
      "--id",
      "03",
      "--force",
    ]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/warning: the certificate's public key does not match key 03/);
    expect(JSON.parse(forced.stdout)).toMatchObject({
      id: "03",
      label: "rsa-2",
      subject: "CN=other",
    });
    const back = await readObject(token, "cert", ["--id", "03"], file("back-03.der"));
    expect(back.equals(await toDer(token, file("other.pem"), file("other.der")))).toBe(true);
  });

  it("refuses a second certificate with the same id (exit 6); --force replaces it", async () => {
    const before = await objectListing(token, PIN);
    const writeRsa1 = (...extra: string[]) =>
      run(["write-object", "--pin", PIN, "--type", "cert", "-f", file("rsa-1.der"), ...extra]);
    const again = await writeRsa1();
    expect(again.code).toBe(6);
    expect(again.stderr).toBe(
      "tsp11: write-object: a certificate with id 01 already exists on the token (use --force to replace it)\n",
    );
    // Named by --id: the same refusal (one search by id finds the key and the certificate).
    const named = await writeRsa1("--id", "01");
    expect(named.code).toBe(6);
    expect(named.stderr).toBe(again.stderr);
    // The key and the conflicting certificate come from one search by id.
    const traced = await writeRsa1("--id", "01", "-v");
    expect(traced.stderr.match(/C_FindObjectsInit/g)).toHaveLength(1);
    expect(await objectListing(token, PIN)).toBe(before);
    // A fresh certificate for the same key replaces the old one.
    await issue(token, ca, file("rsa-1.csr"), file("rsa-1b.pem"));
    const replaced = await write([
      "--type",
      "cert",
      "-f",
      file("rsa-1b.pem"),
      "--id",
      "01",
      "--force",
    ]);
    expect(replaced).toMatchObject({ id: "01", label: "rsa-1" });
    const certs = (await objects(["--type", "cert", "--id", "01"])).map((c) => c.serial);
    expect(certs).toEqual([(await certFields(file("rsa-1b.pem"))).serial]);
    const back = await readObject(token, "cert", ["--id", "01"], file("back-01b.der"));
    expect(back.equals(await toDer(token, file("rsa-1b.pem"), file("rsa-1b.der")))).toBe(true);
  });

  it("gives a certificate without a key on the token the key's SHA-1 id and its CN as label", async () => {
    const json = await write(["--type", "cert", "-f", ca.cert]);
    const jwk = createPublicKey(await readFile(ca.cert, "utf8")).export({ format: "jwk" });
    const modulus = Buffer.from(jwk.n ?? "", "base64url");
    expect(json).toMatchObject({
      id: createHash("sha1").update(modulus).digest("hex"),
      label: "ca test CA",
      subject: "CN=ca test CA,O=tsp11 tests",
    });
  });

  it("stores public keys (PEM and DER) with the SHA-1 id of their value", async () => {
    const ecKey = file("ext-ec.key");
    await openssl(token, [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      ecKey,
    ]);
    await openssl(token, ["pkey", "-in", ecKey, "-pubout", "-out", file("ext-ec.pub.pem")]);
    const json = await write([
      "--type",
      "pubkey",
      "-f",
      file("ext-ec.pub.pem"),
      "--label",
      "ext-ec",
    ]);
    const jwk = createPublicKey(await readFile(file("ext-ec.pub.pem"), "utf8")).export({
      format: "jwk",
    });
    const point = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x ?? "", "base64url"),
      Buffer.from(jwk.y ?? "", "base64url"),
    ]);
    expect(json).toMatchObject({
      class: "public-key",
      id: createHash("sha1").update(point).digest("hex"),
      label: "ext-ec",
    });
    expect(json.uri).toMatch(/type=public$/);
    const back = await readObject(token, "pubkey", ["--id", json.id], file("ext-ec.back"));
    expect(canonicalSpki(back).equals(canonicalSpki(await readFile(file("ext-ec.pub.pem"))))).toBe(
      true,
    );

    const rsa = await write([
      "--type",
      "pubkey",
      "-f",
      file("ca-pub.der"),
      "--id",
      "c0",
      "--label",
      "ca-pub",
    ]);
    expect(rsa).toMatchObject({ id: "c0", label: "ca-pub" });
    const rsaBack = await readObject(token, "pubkey", ["--id", "c0"], file("ca-pub.back"));
    expect(canonicalSpki(rsaBack).equals(await readFile(file("ca-pub.der")))).toBe(true);

    const dup = await run([
      "write-object",
      "--pin",
      PIN,
      "--type",
      "pubkey",
      "-f",
      file("ext-ec.pub.pem"),
    ]);
    expect(dup.code).toBe(6);
    expect(dup.stderr).toMatch(/a public key with id [0-9a-f]{40} already exists/);
    // Not the public half of the private key with that id.
    const mismatch = await run([
      "write-object",
      "--pin",
      PIN,
      "--type",
      "pubkey",
      "-f",
      file("ca-pub.pem"),
      "--id",
      "01",
    ]);
    expect(mismatch.code).toBe(6);
    expect(mismatch.stderr).toMatch(/does not match the private key with id 01/);
  });

  it("stores an Ed25519 public key (on a token of its own)", async () => {
    await using edToken = await tempToken({ label: "wo-ed", pin: PIN });
    await openssl(edToken, ["genpkey", "-algorithm", "ed25519", "-out", edToken.path("ed.key")]);
    await openssl(edToken, [
      "pkey",
      "-in",
      edToken.path("ed.key"),
      "-pubout",
      "-outform",
      "DER",
      "-out",
      edToken.path("ed.der"),
    ]);
    const json = await write(
      ["--type", "pubkey", "-f", edToken.path("ed.der"), "--label", "ed"],
      undefined,
      edToken,
    );
    const raw = (await readFile(edToken.path("ed.der"))).subarray(-32);
    expect(json.id).toBe(createHash("sha1").update(raw).digest("hex"));
    const back = await readObject(edToken, "pubkey", ["--id", json.id], edToken.path("ed.back"));
    expect(canonicalSpki(back).equals(await readFile(edToken.path("ed.der")))).toBe(true);
  });

  it("stores data objects from stdin, named by label", async () => {
    const value = Buffer.concat([Buffer.from("provisioning notes\n"), randomBytes(64)]);
    const json = await write(["--type", "data", "-f", "-", "--label", "notes"], value);
    expect(json).toEqual({
      class: "data",
      id: "",
      label: "notes",
      uri: expect.stringMatching(/;token=wo;object=notes;type=data$/) as unknown,
    });
    const back = await readObject(token, "data", ["--label", "notes"], file("notes.back"));
    expect(back.equals(value)).toBe(true);
    const listing = await objectListing(token, PIN);
    expect(listing).toMatch(/Data object \d+\n\s+label:\s+'notes'\n\s+application:\s+'notes'/);

    const dup = await run(
      ["write-object", "--pin", PIN, "--type", "data", "-f", "-", "--label", "notes"],
      "x",
    );
    expect(dup.code).toBe(6);
    const withId = await run(
      ["write-object", "--pin", PIN, "--type", "data", "-f", "-", "--label", "n2", "--id", "01"],
      "x",
    );
    expect(withId.code).toBe(2);
    expect(withId.stderr).toMatch(/data objects have no CKA_ID/);
    const noLabel = await run(["write-object", "--pin", PIN, "--type", "data", "-f", "-"], "x");
    expect(noLabel.code).toBe(2);
  });

  it("--private makes the object readable only after login", async () => {
    const json = await write(
      ["--type", "data", "-f", "-", "--label", "secret-notes", "--private"],
      "s",
    );
    expect(json.label).toBe("secret-notes");
    const anonymous = await pkcs11Tool(token, ["-O", "--type", "data"]);
    expect(anonymous.stdout).not.toContain("secret-notes");
    const listing = await objectListing(token, PIN);
    expect(listing).toMatch(/label:\s+'secret-notes'[\s\S]*?flags:\s+modifiable private/);
  });

  it("needs a login: without a PIN (and no TTY) exit 4, nothing written", async () => {
    const before = await objectListing(token, PIN);
    const result = await run([
      "write-object",
      "--type",
      "cert",
      "-f",
      file("other.pem"),
      "--id",
      "09",
    ]);
    expect(result.code).toBe(4);
    expect(await objectListing(token, PIN)).toBe(before);
  });

  afterAll(async () => {
    // Runs even when beforeAll failed half-way: no token store is left behind.
    await (token as TempToken | undefined)?.[Symbol.asyncDispose]();
  });

  afterAll(() => {
    expect(outputs.length).toBeGreaterThan(20);
    for (const result of outputs) {
      for (const secret of [PIN, SO_PIN]) {
        expect(result.stdout).not.toContain(secret);
        expect(result.stderr).not.toContain(secret);
      }
    }
  });
});
