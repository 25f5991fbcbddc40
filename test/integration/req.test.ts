/**
 * `tsp11 req` against real SoftHSM keys, judged by openssl (signature, subject, SANs) and
 * pkcs11-tool (the public key in the request is the token's).
 */
import { createPublicKey } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalSpki, openssl, pkcs11Tool, readObject, tsp11 } from "../helpers/pki.js";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import { softhsmAvailable, SO_PIN, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

/** A PIN that cannot turn up in base64 or hex by chance, so "never printed" means something. */
const PIN = "Req-pin-5531";

interface ReqJson {
  pem: string;
  subject: string;
  signatureAlgorithm: string;
  keyId: string;
}

interface KeyCase {
  name: string;
  keyType: string;
  id: string;
  hash?: string;
  algorithm: string;
}

const KEYS: KeyCase[] = [
  { name: "rsa-2048", keyType: "rsa:2048", id: "01", algorithm: "sha256WithRSAEncryption" },
  {
    name: "rsa-3072",
    keyType: "rsa:3072",
    id: "02",
    hash: "sha512",
    algorithm: "sha512WithRSAEncryption",
  },
  { name: "ec-p256", keyType: "ec:prime256v1", id: "03", algorithm: "ecdsa-with-SHA256" },
  {
    name: "ec-p384",
    keyType: "ec:secp384r1",
    id: "04",
    hash: "sha384",
    algorithm: "ecdsa-with-SHA384",
  },
  {
    name: "ec-p521",
    keyType: "ec:secp521r1",
    id: "05",
    hash: "sha512",
    algorithm: "ecdsa-with-SHA512",
  },
];
const ED25519: KeyCase = { name: "ed-1", keyType: "ed25519", id: "06", algorithm: "ED25519" };

const SANS = "DNS:www.example.com,IP:10.1.2.3,email:ops@example.com,URI:https://example.com/x";
const SANS_AS_OPENSSL_PRINTS =
  "DNS:www.example.com, IP Address:10.1.2.3, email:ops@example.com, URI:https://example.com/x";

describe.skipIf(!available)("req", () => {
  let token: TempToken;
  let edToken: TempToken;
  const outputs: RunResult[] = [];

  /** tsp11 on a token, every output kept for the "PIN never printed" check. */
  async function run(on: TempToken, args: string[]): Promise<RunResult> {
    const result = await tsp11(on, args);
    outputs.push(result);
    return result;
  }

  async function req(on: TempToken, args: string[]): Promise<ReqJson> {
    const result = await run(on, ["req", "--pin", PIN, "--json", ...args]);
    if (result.code !== 0) throw new Error(`req failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as ReqJson;
  }

  async function keygen(on: TempToken, key: KeyCase): Promise<void> {
    const args = ["keygen", "--pin", PIN, "--key-type", key.keyType, "--label", key.name];
    const result = await run(on, [...args, "--id", key.id]);
    if (result.code !== 0) throw new Error(`keygen failed: ${result.stderr}`);
  }

  /** openssl's verdict on a CSR file, and the fields it prints. */
  async function inspect(on: TempToken, file: string, inform = "PEM") {
    const verified = await openssl(on, [
      "req",
      "-inform",
      inform,
      "-in",
      file,
      "-verify",
      "-noout",
    ]);
    const subject = await openssl(on, [
      "req",
      "-inform",
      inform,
      "-in",
      file,
      "-noout",
      "-subject",
      "-nameopt",
      "RFC2253",
    ]);
    const text = await openssl(on, ["req", "-inform", inform, "-in", file, "-noout", "-text"]);
    const pubkey = await openssl(on, ["req", "-inform", inform, "-in", file, "-noout", "-pubkey"]);
    return {
      verified: verified.stderr,
      subject: subject.stdout.replace(/^subject=/, "").trim(),
      text: text.stdout,
      spki: canonicalSpki(Buffer.from(pubkey.stdout)),
    };
  }

  /**
   * The token's public key as pkcs11-tool sees it: its export, or for P-384, where OpenSC
   * 0.23's export fails ("cannot create EVP_PKEY", also for keys pkcs11-tool made itself),
   * the EC_POINT of its object listing.
   */
  async function tokenPublicKey(on: TempToken, key: KeyCase): Promise<Buffer> {
    if (key.keyType !== "ec:secp384r1") {
      return canonicalSpki(
        await readObject(on, "pubkey", ["--id", key.id], on.path(`${key.name}.pub`)),
      );
    }
    const listing = await pkcs11Tool(on, ["-O", "--type", "pubkey", "--id", key.id]);
    const point = /EC_POINT:\s+0461([0-9a-f]{194})\n/.exec(listing.stdout)?.[1];
    if (!point) throw new Error(`no P-384 EC_POINT in\n${listing.stdout}`);
    const xy = Buffer.from(point, "hex").subarray(1);
    const jwk = {
      kty: "EC",
      crv: "P-384",
      x: xy.subarray(0, 48).toString("base64url"),
      y: xy.subarray(48).toString("base64url"),
    };
    return createPublicKey({ key: jwk, format: "jwk" }).export({ type: "spki", format: "der" });
  }

  beforeAll(async () => {
    token = await tempToken({ label: "req", pin: PIN });
    // EdDSA keys on a token of their own (the libp11 engine cannot list tokens that hold one).
    edToken = await tempToken({ label: "req-ed", pin: PIN });
    await Promise.all([
      (async () => {
        for (const key of KEYS) await keygen(token, key);
      })(),
      keygen(edToken, ED25519),
    ]);
  });

  it.each([...KEYS.map((key) => [key.name, key] as const), ["ed25519", ED25519] as const])(
    "%s: openssl verifies the CSR, its subject, SANs and the token's public key",
    async (_, key) => {
      const on = key === ED25519 ? edToken : token;
      const file = on.path(`${key.name}.csr`);
      const subject = `/C=US/O=Example Corp/CN=${key.name}.example.com`;
      const json = await req(on, [
        "-i",
        key.name,
        "-d",
        subject,
        "--san",
        SANS,
        "-o",
        file,
        ...(key.hash ? ["--hash", key.hash] : []),
      ]);
      const pem = await readFile(file, "utf8");
      expect(json.pem).toBe(pem);
      expect(pem).toMatch(
        /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+\n-----END CERTIFICATE REQUEST-----\n$/,
      );
      expect(Object.keys(json)).toEqual(["pem", "subject", "signatureAlgorithm", "keyId"]);

      const seen = await inspect(on, file);
      expect(seen.verified).toMatch(/verify OK/);
      expect(seen.subject).toBe(`CN=${key.name}.example.com,O=Example Corp,C=US`);
      expect(json.subject).toBe(seen.subject);
      expect(json.keyId).toBe(key.id);
      expect(json.signatureAlgorithm).toBe(key.algorithm);
      expect(seen.text).toContain(`Signature Algorithm: ${key.algorithm}`);
      expect(seen.text).toContain(SANS_AS_OPENSSL_PRINTS);

      expect(seen.spki.equals(await tokenPublicKey(on, key))).toBe(true);
    },
  );

  it("signs with RSA-PSS (salt = hash length) under --pss", async () => {
    for (const [hash, salt] of [
      ["sha256", "0x20"],
      ["sha512", "0x40"],
    ] as const) {
      const file = token.path(`pss-${hash}.csr`);
      const json = await req(token, [
        "-i",
        "rsa-2048",
        "-d",
        "/CN=pss",
        "--pss",
        "--hash",
        hash,
        "-o",
        file,
      ]);
      expect(json.signatureAlgorithm).toBe("rsassaPss");
      const seen = await inspect(token, file);
      expect(seen.verified).toMatch(/verify OK/);
      expect(seen.text).toMatch(
        new RegExp(
          `Hash Algorithm: ${hash}[\\s\\S]*Mask Algorithm: mgf1 with ${hash}[\\s\\S]*Salt Length: ${salt}`,
        ),
      );
    }
  });

  it("picks the digest with --hash", async () => {
    const json = await req(token, ["--id", "01", "-d", "/CN=h", "--hash", "sha384"]);
    expect(json.signatureAlgorithm).toBe("sha384WithRSAEncryption");
    const file = token.path("h.csr");
    await writeFile(file, json.pem);
    expect((await inspect(token, file)).verified).toMatch(/verify OK/);
  });

  it("writes DER to stdout with --der, and PEM to stdout by default", async () => {
    const der = await run(token, ["req", "--pin", PIN, "--id", "03", "-d", "/CN=der", "--der"]);
    expect(der.code).toBe(0);
    expect(der.stdoutBytes[0]).toBe(0x30);
    const file = token.path("der.csr");
    await writeFile(file, der.stdoutBytes);
    const seen = await inspect(token, file, "DER");
    expect(seen.verified).toMatch(/verify OK/);
    expect(seen.subject).toBe("CN=der");

    const pem = await run(token, ["req", "--pin", PIN, "--id", "03", "-d", "/CN=pem"]);
    expect(pem.code).toBe(0);
    expect(pem.stdout).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    expect(pem.stderr).toBe("");
  });

  it("-o writes the file and nothing to stdout; a failed run leaves no file", async () => {
    const dir = token.path("out");
    await mkdir(dir);
    // Traced (-v): the key and its public half come from one search, each a pass over the token.
    const ok = await run(token, [
      "-v",
      "req",
      "--pin",
      PIN,
      "-i",
      "ec-p256",
      "-d",
      "/CN=o",
      "-o",
      `${dir}/a.csr`,
      "--der",
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("");
    expect(ok.stderr.match(/C_FindObjectsInit/g)).toHaveLength(1);
    expect((await inspect(token, `${dir}/a.csr`, "DER")).verified).toMatch(/verify OK/);

    const failed = await run(token, [
      "req",
      "--pin",
      PIN,
      "-i",
      "no-such-key",
      "-d",
      "/CN=o",
      "-o",
      `${dir}/b.csr`,
    ]);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/^tsp11: find key: no private key with label "no-such-key"/);
    expect(await readdir(dir)).toEqual(["a.csr"]);
  });

  it("takes the DN in OpenSSL or RFC 4514 form (the same name) and the key by --uri", async () => {
    const openslForm = await req(token, [
      "-i",
      "rsa-2048",
      "-d",
      "/C=US/O=Example/OU=Ops+CN=a\\, b",
    ]);
    const rfcForm = await req(token, [
      "--uri",
      "pkcs11:token=req;object=rsa-2048;type=private",
      "-d",
      "CN=a\\, b+OU=Ops,O=Example,C=US",
    ]);
    expect(rfcForm.subject).toBe(openslForm.subject);
    const files = [token.path("dn1.csr"), token.path("dn2.csr")];
    await writeFile(files[0] ?? "", openslForm.pem);
    await writeFile(files[1] ?? "", rfcForm.pem);
    const [a, b] = await Promise.all(files.map((f) => inspect(token, f)));
    expect(a?.subject).toBe(b?.subject);
    expect(a?.subject).toBe(openslForm.subject);
  });

  it.each([
    [["-i", "rsa-2048", "-d", "/C=US/O"], 2, /invalid DN at position \d+/],
    [["-i", "rsa-2048", "-d", "/C=USA/CN=x"], 2, /two-letter country code/],
    [
      ["-i", "rsa-2048", "-d", "/CN=x", "--san", "FTP:x"],
      2,
      /invalid subjectAltName entry 'FTP:x'/,
    ],
    [["-i", "rsa-2048", "-d", "/CN=x", "--hash", "md5"], 2, /md5/],
    [["-i", "ec-p256", "-d", "/CN=x", "--pss"], 2, /--pss needs an RSA key/],
    [["-d", "/CN=x"], 2, /name the object with -k\/--key/],
    [["-i", "nope", "-d", "/CN=x"], 3, /no private key with label "nope"/],
  ])("refuses %j with exit %i and one line", async (args, code, message) => {
    const result = await run(token, ["req", "--pin", PIN, ...args]);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("exits 4 on a wrong PIN", async () => {
    const result = await run(token, ["req", "--pin", "wrong-pin", "-i", "rsa-2048", "-d", "/CN=x"]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/CKR_PIN_INCORRECT/);
  });

  it("warns that --hash does not apply to Ed25519", async () => {
    const result = await run(edToken, [
      "req",
      "--pin",
      PIN,
      "--id",
      "06",
      "-d",
      "/CN=e",
      "--hash",
      "sha384",
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: --hash sha384 is ignored/);
  });

  afterAll(async () => {
    // Runs even when beforeAll failed half-way: no token store is left behind.
    for (const store of [token, edToken] as (TempToken | undefined)[]) {
      await store?.[Symbol.asyncDispose]();
    }
  });

  afterAll(() => {
    // Every output of this file, success or failure: no PIN anywhere.
    expect(outputs.length).toBeGreaterThan(10);
    for (const result of outputs) {
      for (const secret of [PIN, SO_PIN]) {
        expect(result.stdout).not.toContain(secret);
        expect(result.stderr).not.toContain(secret);
      }
    }
  });
});
