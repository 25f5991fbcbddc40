/**
 * `tsp11 sign` against real SoftHSM keys, every signature judged by openssl with the public
 * key pkcs11-tool exports. One token for the RSA and EC keys, one of its own for Ed25519.
 */
import { createHash, createPublicKey } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import { softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

/** A PIN that cannot turn up in base64 or hex by chance, so "never printed" means something. */
const PIN = "Sign-pin-7781";

interface EcKey {
  label: string;
  id: string;
  curve: string;
  jwkCurve: string;
  field: number;
  hash: "sha256" | "sha384" | "sha512";
}

const EC_KEYS: EcKey[] = [
  { label: "e256", id: "02", curve: "prime256v1", jwkCurve: "P-256", field: 32, hash: "sha256" },
  { label: "e384", id: "03", curve: "secp384r1", jwkCurve: "P-384", field: 48, hash: "sha384" },
  { label: "e521", id: "04", curve: "secp521r1", jwkCurve: "P-521", field: 66, hash: "sha512" },
];

const DATA = "tsp11 signs this line.\n";

describe.skipIf(!available)("sign", () => {
  let token: TempToken;
  let edToken: TempToken;
  const outputs: RunResult[] = [];

  async function run(on: TempToken, args: string[], input?: string | Buffer): Promise<RunResult> {
    const result = await on.tsp11(args, input === undefined ? {} : { input });
    outputs.push(result);
    return result;
  }

  /** tsp11 sign with the PIN; fails the test on a non-zero exit. */
  async function sign(args: string[], input?: string | Buffer, on = token): Promise<RunResult> {
    const result = await run(on, ["sign", "--pin", PIN, ...args], input);
    if (result.code !== 0) throw new Error(`sign failed (${result.code}): ${result.stderr}`);
    return result;
  }

  async function oracle(args: string[], on = token): Promise<RunResult> {
    const result = await on.exec("openssl", args);
    if (result.code !== 0) {
      throw new Error(`openssl ${args.join(" ")} failed (${result.code}):\n${result.stderr}`);
    }
    return result;
  }

  async function keygen(on: TempToken, keyType: string, label: string, id: string) {
    const result = await run(on, [
      "keygen",
      "--pin",
      PIN,
      "--key-type",
      keyType,
      "--label",
      label,
      "--id",
      id,
    ]);
    if (result.code !== 0) throw new Error(`keygen failed: ${result.stderr}`);
  }

  /**
   * An EC public key as PEM from the EC_POINT pkcs11-tool lists (its export fails for P-384
   * in OpenSC 0.23): the DER OCTET STRING around 04‖X‖Y is dropped.
   */
  async function ecPublicPem(key: EcKey): Promise<string> {
    // pkcs11-tool -O lists every public key whatever --id says: pick the block of this id.
    const listing = await token.pkcs11Tool(["-O", "--type", "pubkey"]);
    const block = listing.stdout
      .split("Public Key Object")
      .find((text) => new RegExp(`\\n\\s+ID:\\s+${key.id}\\n`).test(text));
    const hex = /EC_POINT:\s+([0-9a-f]+)/.exec(block ?? "")?.[1];
    if (!hex) throw new Error(`no EC_POINT in\n${listing.stdout}`);
    const point = Buffer.from(hex, "hex").subarray(-(2 * key.field + 1));
    const jwk = {
      kty: "EC",
      crv: key.jwkCurve,
      x: point.subarray(1, 1 + key.field).toString("base64url"),
      y: point.subarray(1 + key.field).toString("base64url"),
    };
    return createPublicKey({ key: jwk, format: "jwk" })
      .export({ type: "spki", format: "pem" })
      .toString();
  }

  const dataFile = () => token.path("data.txt");
  const rsaPem = () => token.path("rk.pem");
  const ecPem = (key: EcKey) => token.path(`${key.label}.pem`);

  beforeAll(async () => {
    token = await tempToken({ label: "sign", pin: PIN });
    // EdDSA keys on a token of their own (libp11 cannot use tokens that hold one).
    edToken = await tempToken({ label: "sign-ed", pin: PIN });
    await Promise.all([
      (async () => {
        await keygen(token, "rsa:2048", "rk", "01");
        for (const key of EC_KEYS) await keygen(token, `ec:${key.curve}`, key.label, key.id);
      })(),
      keygen(edToken, "ed25519", "ed", "05"),
    ]);
    await writeFile(dataFile(), DATA);
    await writeFile(edToken.path("data.txt"), DATA);
    const exported = await token.pkcs11Tool([
      "--read-object",
      "--type",
      "pubkey",
      "--id",
      "01",
      "-o",
      token.path("rk.der"),
    ]);
    if (exported.code !== 0) throw new Error(exported.stderr);
    await oracle([
      "pkey",
      "-pubin",
      "-inform",
      "DER",
      "-in",
      token.path("rk.der"),
      "-out",
      rsaPem(),
    ]);
    for (const key of EC_KEYS) await writeFile(ecPem(key), await ecPublicPem(key));
    // OpenSC 0.23 writes PEM for EdDSA keys whatever the file is called.
    const ed = await edToken.pkcs11Tool([
      "--read-object",
      "--type",
      "pubkey",
      "--id",
      "05",
      "-o",
      edToken.path("ed.pem"),
    ]);
    if (ed.code !== 0) throw new Error(ed.stderr);
  });

  afterAll(async () => {
    await token[Symbol.asyncDispose]();
    await edToken[Symbol.asyncDispose]();
  });

  describe("RSA mechanisms verify with openssl", () => {
    it.each(["sha256", "sha384", "sha512"] as const)("SHA-%s-RSA-PKCS", async (hash) => {
      const sig = token.path(`pkcs1-${hash}.sig`);
      const mechanism = `${hash.toUpperCase()}-RSA-PKCS`;
      await sign(["-i", "rk", "-m", mechanism, "--input", dataFile(), "--output", sig]);
      expect((await readFile(sig)).length).toBe(256);
      const verified = await oracle([
        "dgst",
        `-${hash}`,
        "-verify",
        rsaPem(),
        "-signature",
        sig,
        dataFile(),
      ]);
      expect(verified.stdout).toBe("Verified OK\n");
    });

    it.each(["sha256", "sha384", "sha512"] as const)(
      "SHA-%s-RSA-PKCS-PSS (salt = hash length, MGF1 of the hash)",
      async (hash) => {
        const sig = token.path(`pss-${hash}.sig`);
        const mechanism = `${hash.toUpperCase()}-RSA-PKCS-PSS`;
        await sign(["-i", "rk", "-m", mechanism, "--input", dataFile(), "--output", sig]);
        const verified = await oracle([
          "dgst",
          `-${hash}`,
          "-sigopt",
          "rsa_padding_mode:pss",
          "-sigopt",
          `rsa_pss_saltlen:${createHash(hash).digest().length}`,
          "-sigopt",
          `rsa_mgf1_md:${hash}`,
          "-verify",
          rsaPem(),
          "-signature",
          sig,
          dataFile(),
        ]);
        expect(verified.stdout).toBe("Verified OK\n");
      },
    );

    it("PSS with --salt-len 0 (SoftHSM insists on the MGF of the hash)", async () => {
      const sig = token.path("pss-salt0.sig");
      await sign([
        "-i",
        "rk",
        "-m",
        "SHA256-RSA-PKCS-PSS",
        "--salt-len",
        "0",
        "--mgf",
        "MGF1-SHA256",
        "--input",
        dataFile(),
        "--output",
        sig,
      ]);
      const verified = await oracle([
        "dgst",
        "-sha256",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:0",
        "-sigopt",
        "rsa_mgf1_md:sha256",
        "-verify",
        rsaPem(),
        "-signature",
        sig,
        dataFile(),
      ]);
      expect(verified.stdout).toBe("Verified OK\n");
    });

    it("RSA-PKCS-PSS over a digest of --hash", async () => {
      const digest = token.path("data.sha384");
      await writeFile(digest, createHash("sha384").update(DATA).digest());
      const sig = token.path("pss-raw.sig");
      await sign([
        "-i",
        "rk",
        "-m",
        "RSA-PKCS-PSS",
        "--hash",
        "sha384",
        "--input",
        digest,
        "--output",
        sig,
      ]);
      const verified = await oracle([
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        rsaPem(),
        "-pkeyopt",
        "digest:sha384",
        "-pkeyopt",
        "rsa_padding_mode:pss",
        "-pkeyopt",
        "rsa_pss_saltlen:-1",
        "-in",
        digest,
        "-sigfile",
        sig,
      ]);
      expect(verified.stdout).toContain("Signature Verified Successfully");
    });

    it("RSA-PKCS signs a DigestInfo as given (verifyrecover gives it back)", async () => {
      const prefix = Buffer.from("3031300d060960864801650304020105000420", "hex");
      const digestInfo = Buffer.concat([prefix, createHash("sha256").update(DATA).digest()]);
      await writeFile(token.path("data.di"), digestInfo);
      const sig = token.path("raw.sig");
      await sign(["-i", "rk", "-m", "RSA-PKCS", "--input", token.path("data.di"), "--output", sig]);
      const recovered = await token.exec("openssl", [
        "pkeyutl",
        "-verifyrecover",
        "-pubin",
        "-inkey",
        rsaPem(),
        "-in",
        sig,
      ]);
      expect(recovered.stdoutBytes.equals(digestInfo)).toBe(true);
      // The same bytes are a SHA256-RSA-PKCS signature of the data.
      const same = await sign(["-i", "rk", "-m", "SHA256-RSA-PKCS", "--input", dataFile()]);
      expect(same.stdoutBytes.equals(await readFile(sig))).toBe(true);
    });

    it("refuses raw RSA-PKCS input longer than the modulus allows (exit 2)", async () => {
      const result = await run(
        token,
        ["sign", "--pin", PIN, "-i", "rk", "-m", "RSA-PKCS"],
        Buffer.alloc(300, 1),
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /RSA-PKCS takes at most 245 bytes of input with this key; the input has 300/,
      );
      expect(result.stdout).toBe("");
    });
  });

  describe("ECDSA", () => {
    it.each(EC_KEYS.map((key) => [key.curve, key] as const))(
      "%s: DER by default verifies with openssl dgst; raw is 2 × field size",
      async (_, key) => {
        const mechanism = `ECDSA-${key.hash.toUpperCase()}`;
        const sig = token.path(`${key.label}.sig`);
        await sign(["-i", key.label, "-m", mechanism, "--input", dataFile(), "--output", sig]);
        const verified = await oracle([
          "dgst",
          `-${key.hash}`,
          "-verify",
          ecPem(key),
          "-signature",
          sig,
          dataFile(),
        ]);
        expect(verified.stdout).toBe("Verified OK\n");

        const raw = await sign(["-i", key.label, "-m", mechanism, "--format", "raw"], DATA);
        expect(raw.stdoutBytes.length).toBe(2 * key.field);
        // r‖s back to DER (as node writes it) for openssl.
        const der = token.path(`${key.label}.raw2der`);
        await writeFile(der, rawToDer(raw.stdoutBytes));
        const again = await oracle([
          "dgst",
          `-${key.hash}`,
          "-verify",
          ecPem(key),
          "-signature",
          der,
          dataFile(),
        ]);
        expect(again.stdout).toBe("Verified OK\n");
      },
    );

    it("uses ECDSA-SHA256 for EC keys by default, hashing on the host (-v says so)", async () => {
      const result = await sign([
        "-i",
        "e256",
        "--input",
        dataFile(),
        "--output",
        token.path("d.sig"),
        "-v",
      ]);
      expect(result.stderr).toContain(
        "tsp11: trace: ECDSA-SHA256: the token has no CKM_ECDSA_SHA256; hashing with sha256 on the host and signing with CKM_ECDSA",
      );
      expect(result.stderr).toMatch(/C_SignInit\([^)]*\{mechanism: 0x1041\}/);
    });

    it("ECDSA signs a hash given as input", async () => {
      const digest = token.path("data.sha256");
      await writeFile(digest, createHash("sha256").update(DATA).digest());
      const sig = token.path("ecdsa-raw-mech.sig");
      await sign(["-i", "e256", "-m", "ECDSA", "--input", digest, "--output", sig]);
      const verified = await oracle([
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        ecPem(EC_KEYS[0] as EcKey),
        "-in",
        digest,
        "-sigfile",
        sig,
      ]);
      expect(verified.stdout).toContain("Signature Verified Successfully");
    });
  });

  it("EDDSA (Ed25519, the default for the key) verifies with openssl pkeyutl -rawin", async () => {
    const sig = edToken.path("ed.sig");
    await sign(
      ["-i", "ed", "--input", edToken.path("data.txt"), "--output", sig],
      undefined,
      edToken,
    );
    expect((await readFile(sig)).length).toBe(64);
    const verified = await oracle(
      [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        edToken.path("ed.pem"),
        "-rawin",
        "-in",
        edToken.path("data.txt"),
        "-sigfile",
        sig,
      ],
      edToken,
    );
    expect(verified.stdout).toContain("Signature Verified Successfully");
  });

  describe("input and output", () => {
    it("reads stdin (no --input, and --input -) and streams inputs of several chunks", async () => {
      const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0x61);
      await writeFile(token.path("big.bin"), big);
      const fromFile = await sign(["-i", "rk", "--input", token.path("big.bin")]);
      const fromStdin = await sign(["-i", "rk"], big);
      const dash = await sign(["-i", "rk", "--input", "-"], big);
      // PKCS#1 v1.5 is deterministic: the same signature whichever way the input came.
      expect(fromStdin.stdoutBytes.equals(fromFile.stdoutBytes)).toBe(true);
      expect(dash.stdoutBytes.equals(fromFile.stdoutBytes)).toBe(true);
      await writeFile(token.path("big.sig"), fromStdin.stdoutBytes);
      const verified = await oracle([
        "dgst",
        "-sha256",
        "-verify",
        rsaPem(),
        "-signature",
        token.path("big.sig"),
        token.path("big.bin"),
      ]);
      expect(verified.stdout).toBe("Verified OK\n");
      // Host hashing (ECDSA-SHA256 on SoftHSM) streams stdin too.
      const ec = await sign(["-i", "e256"], big);
      await writeFile(token.path("big.ecsig"), ec.stdoutBytes);
      const ecVerified = await oracle([
        "dgst",
        "-sha256",
        "-verify",
        ecPem(EC_KEYS[0] as EcKey),
        "-signature",
        token.path("big.ecsig"),
        token.path("big.bin"),
      ]);
      expect(ecVerified.stdout).toBe("Verified OK\n");
    });

    it("writes base64 or hex text with --encoding", async () => {
      const binary = await sign(["-i", "rk", "--input", dataFile()]);
      const base64 = await sign(["-i", "rk", "--input", dataFile(), "--encoding", "base64"]);
      const hex = await sign(["-i", "rk", "--input", dataFile(), "--encoding", "hex"]);
      expect(base64.stdout).toBe(`${binary.stdoutBytes.toString("base64")}\n`);
      expect(hex.stdout).toBe(`${binary.stdoutBytes.toString("hex")}\n`);
    });

    it("reports JSON: mechanism, key, signature (and the file written)", async () => {
      const sig = token.path("json.sig");
      const result = await sign(["-i", "e256", "--input", dataFile(), "--output", sig, "--json"]);
      const json = JSON.parse(result.stdout) as Record<string, string>;
      expect(Object.keys(json)).toEqual([
        "mechanism",
        "keyId",
        "keyLabel",
        "format",
        "signatureBase64",
        "output",
      ]);
      expect(json).toMatchObject({
        mechanism: "ECDSA-SHA256",
        keyId: "02",
        keyLabel: "e256",
        format: "der",
        output: sig,
      });
      expect(Buffer.from(json.signatureBase64 ?? "", "base64").equals(await readFile(sig))).toBe(
        true,
      );
      const rsa = JSON.parse((await sign(["-i", "rk", "--json"], DATA)).stdout) as Record<
        string,
        string
      >;
      expect(Object.keys(rsa)).toEqual(["mechanism", "keyId", "keyLabel", "signatureBase64"]);
    });

    it("signs FILE... in one session, each into FILE.sig, with a JSON report", async () => {
      const files = ["a.txt", "b.txt", "c.bin"].map((name) => token.path(`batch-${name}`));
      for (const [i, file] of files.entries())
        // 7 bytes, 70 KB and 280 KB: the last two are read in more than one chunk.
        await writeFile(file, `file ${i}\n`.repeat(i * i * 10_000 + 1));
      const result = await sign(["-i", "rk", "--json", "-v", ...files]);
      expect(result.stderr.match(/C_Login\(/g)).toHaveLength(1);
      expect(result.stderr.match(/C_OpenSession\(/g)).toHaveLength(1);
      const json = JSON.parse(result.stdout) as {
        file: string;
        signature: string;
        output: string;
      }[];
      expect(json.map((entry) => entry.file)).toEqual(files);
      for (const entry of json) {
        expect(Object.keys(entry)).toEqual(["file", "signature", "output"]);
        expect(entry.output).toBe(`${entry.file}.sig`);
        expect(Buffer.from(entry.signature, "base64").equals(await readFile(entry.output))).toBe(
          true,
        );
        const verified = await oracle([
          "dgst",
          "-sha256",
          "-verify",
          rsaPem(),
          "-signature",
          entry.output,
          entry.file,
        ]);
        expect(verified.stdout).toBe("Verified OK\n");
      }
      // ECDSA batch: DER signature files; --hash picks the default mechanism's variant.
      await sign(["-i", "e384", "-q", "--hash", "sha384", ...files]);
      for (const file of files) {
        const verified = await oracle([
          "dgst",
          "-sha384",
          "-verify",
          ecPem(EC_KEYS[1] as EcKey),
          "-signature",
          `${file}.sig`,
          file,
        ]);
        expect(verified.stdout).toBe("Verified OK\n");
      }
    });
  });

  describe("failures leave no signature file", () => {
    async function refused(args: string[], pin = PIN): Promise<RunResult> {
      const before = await readdir(token.dir);
      const out = token.path("refused.sig");
      const result = await run(token, [
        "sign",
        "--pin",
        pin,
        "--input",
        dataFile(),
        "--output",
        out,
        ...args,
      ]);
      expect(result.stdout).toBe("");
      expect(await readdir(token.dir)).toEqual(before);
      return result;
    }

    it("wrong PIN: exit 4", async () => {
      const result = await refused(["-i", "rk"], "0000");
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/incorrect PIN \(CKR_PIN_INCORRECT\)/);
    });

    it("missing key: exit 3", async () => {
      const result = await refused(["-i", "nope"]);
      expect(result.code).toBe(3);
      expect(result.stderr).toBe(
        'tsp11: find key: no private key with label "nope" on the token\n',
      );
    });

    it("a mechanism the key cannot do: exit 2, listing what it can", async () => {
      const result = await refused(["-i", "rk", "-m", "ECDSA-SHA256"]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'tsp11: ECDSA-SHA256 needs an EC key; key "rk" is rsa and can use: RSA-PKCS, SHA256-RSA-PKCS, SHA384-RSA-PKCS, SHA512-RSA-PKCS, RSA-PKCS-PSS, SHA256-RSA-PKCS-PSS, SHA384-RSA-PKCS-PSS, SHA512-RSA-PKCS-PSS\n',
      );
      const ec = await refused(["-i", "e256", "-m", "SHA256-RSA-PKCS-PSS", "--json"]);
      expect(ec.code).toBe(2);
      expect(JSON.parse(ec.stderr)).toMatchObject({ error: { code: "usage", exit: 2 } });
    });

    it("a missing input file: exit 2 before any PIN is used", async () => {
      const before = await readdir(token.dir);
      const result = await run(token, [
        "sign",
        "-i",
        "rk",
        "--input",
        token.path("absent"),
        "--output",
        token.path("x.sig"),
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`tsp11: read input ${token.path("absent")}: no such file\n`);
      expect(await readdir(token.dir)).toEqual(before);
      const batch = await run(token, [
        "sign",
        "--pin",
        PIN,
        "-i",
        "rk",
        dataFile(),
        token.path("absent"),
      ]);
      expect(batch.code).toBe(2);
      expect(await readdir(token.dir)).toEqual(before);
    });
  });

  it("never prints the PIN", () => {
    expect(outputs.length).toBeGreaterThan(20);
    for (const result of outputs) {
      expect(result.stdout).not.toContain(PIN);
      expect(result.stderr).not.toContain(PIN);
      expect(result.stdoutBytes.includes(Buffer.from(PIN))).toBe(false);
    }
  });
});

/** r‖s to DER for the oracle, written here independently of tsp11's encoders. */
function rawToDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const integer = (bytes: Buffer): Buffer => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let body = bytes.subarray(start);
    if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.of(0), body]);
    return Buffer.concat([Buffer.of(0x02, body.length), body]);
  };
  const content = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  const length =
    content.length < 0x80 ? Buffer.of(content.length) : Buffer.of(0x81, content.length);
  return Buffer.concat([Buffer.of(0x30), length, content]);
}
