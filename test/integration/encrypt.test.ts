/**
 * `tsp11 encrypt` / `decrypt` on a real SoftHSM token, both directions judged by openssl
 * (`openssl enc` for AES-CBC/CTR/ECB, `openssl pkeyutl` for RSA) and node's OpenSSL for GCM,
 * with keys whose bytes the test imported through pkcs11-tool.
 */
import { createDecipheriv, randomBytes } from "node:crypto";
import { chmod, lstat, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();
const KEY = randomBytes(32);
const IV = randomBytes(16);

describe.skipIf(!available)("encrypt and decrypt", () => {
  let token: TempToken;
  const path = (name: string) => token.path(name);
  const hex = (bytes: Buffer) => bytes.toString("hex");

  async function ok(args: string[], input?: Buffer) {
    const result = await token.tsp11(["--pin", PIN, ...args], input ? { input } : {});
    if (result.code !== 0) throw new Error(`tsp11 ${args.join(" ")}: ${result.stderr}`);
    return result;
  }

  async function openssl(args: string[]) {
    const result = await token.exec("openssl", args);
    if (result.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
    return result;
  }

  async function pkcs11Write(file: string, args: string[]) {
    const result = await token.pkcs11Tool(["-l", "-p", PIN, "--write-object", file, ...args]);
    if (result.code !== 0) throw new Error(result.stderr);
  }

  beforeAll(async () => {
    token = await tempToken({ label: "crypt" });
    await writeFile(path("aes.key"), KEY);
    await pkcs11Write(path("aes.key"), [
      "--type",
      "secrkey",
      "--key-type",
      "AES:32",
      "--label",
      "aes",
      "--id",
      "01",
      "--usage-decrypt",
    ]);
    await openssl(["genrsa", "-out", path("rsa.pem"), "2048"]);
    await openssl(["rsa", "-in", path("rsa.pem"), "-pubout", "-out", path("rsa.pub")]);
    await pkcs11Write(path("rsa.pem"), [
      "--type",
      "privkey",
      "--label",
      "rsa",
      "--id",
      "02",
      "--usage-decrypt",
    ]);
    await pkcs11Write(path("rsa.pub"), ["--type", "pubkey", "--label", "rsa", "--id", "02"]);
    // 3 chunks and a bit: the streamed path, not one block.
    await writeFile(path("plain.bin"), randomBytes(200_003));
  });

  afterAll(async () => {
    await token[Symbol.asyncDispose]();
  });

  it("AES-CBC-PAD both ways agrees with openssl enc; the IV goes to --iv-out", async () => {
    await ok([
      "encrypt",
      "-i",
      "aes",
      "-m",
      "AES-CBC-PAD",
      "--input",
      path("plain.bin"),
      "--output",
      path("cbc.enc"),
      "--iv-out",
      path("cbc.iv"),
    ]);
    const iv = await readFile(path("cbc.iv"));
    expect(iv.length).toBe(16);
    await openssl([
      "enc",
      "-d",
      "-aes-256-cbc",
      "-K",
      hex(KEY),
      "-iv",
      hex(iv),
      "-in",
      path("cbc.enc"),
      "-out",
      path("cbc.dec"),
    ]);
    expect(await readFile(path("cbc.dec"))).toEqual(await readFile(path("plain.bin")));

    await openssl([
      "enc",
      "-aes-256-cbc",
      "-K",
      hex(KEY),
      "-iv",
      hex(IV),
      "-in",
      path("plain.bin"),
      "-out",
      path("ossl.enc"),
    ]);
    await ok([
      "decrypt",
      "-i",
      "aes",
      "-m",
      "AES-CBC-PAD",
      "--iv",
      hex(IV),
      "--no-iv-prefix",
      "--input",
      path("ossl.enc"),
      "--output",
      path("ossl.dec"),
    ]);
    expect(await readFile(path("ossl.dec"))).toEqual(await readFile(path("plain.bin")));
    expect((await stat(path("ossl.dec"))).mode & 0o777).toBe(0o600);
  });

  it("AES-CTR and AES-ECB agree with openssl enc; the IV prefix is reversed by the same options", async () => {
    const prefixed = await ok([
      "encrypt",
      "-i",
      "aes",
      "-m",
      "AES-CTR",
      "--iv",
      hex(IV),
      "--input",
      path("plain.bin"),
    ]);
    expect(prefixed.stdoutBytes.subarray(0, 16)).toEqual(IV);
    const expected = await openssl([
      "enc",
      "-aes-256-ctr",
      "-K",
      hex(KEY),
      "-iv",
      hex(IV),
      "-in",
      path("plain.bin"),
    ]);
    expect(prefixed.stdoutBytes.subarray(16)).toEqual(expected.stdoutBytes);
    const back = await ok(
      ["decrypt", "-i", "aes", "-m", "AES-CTR", "--iv", hex(IV)],
      prefixed.stdoutBytes,
    );
    expect(back.stdoutBytes).toEqual(await readFile(path("plain.bin")));

    const blocks = randomBytes(64);
    const ecb = await ok(["encrypt", "-i", "aes", "-m", "AES-ECB"], blocks);
    const ecbExpected = await token.exec(
      "openssl",
      ["enc", "-aes-256-ecb", "-nopad", "-K", hex(KEY)],
      { input: blocks },
    );
    expect(ecb.stdoutBytes).toEqual(ecbExpected.stdoutBytes);
  });

  it("AES-GCM (the default) with AAD: node's OpenSSL decrypts it; decrypt reverses it", async () => {
    await writeFile(path("aad"), "header");
    const json = await ok([
      "encrypt",
      "-i",
      "aes",
      "--aad",
      path("aad"),
      "--input",
      path("plain.bin"),
      "--output",
      path("gcm.enc"),
      "--json",
    ]);
    const result = JSON.parse(json.stdout) as { mechanism: string; ivHex: string; tagBits: number };
    expect(result).toMatchObject({ mechanism: "AES-GCM", tagBits: 128, keyLabel: "aes" });
    const sealed = await readFile(path("gcm.enc"));
    const nonce = sealed.subarray(0, 12);
    expect(hex(nonce)).toBe(result.ivHex);
    const decipher = createDecipheriv("aes-256-gcm", KEY, nonce);
    decipher.setAAD(Buffer.from("header"));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const plain = Buffer.concat([
      decipher.update(sealed.subarray(12, sealed.length - 16)),
      decipher.final(),
    ]);
    expect(plain).toEqual(await readFile(path("plain.bin")));
    await ok([
      "decrypt",
      "-i",
      "aes",
      "--aad",
      path("aad"),
      "--input",
      path("gcm.enc"),
      "--output",
      path("gcm.dec"),
    ]);
    expect(await readFile(path("gcm.dec"))).toEqual(plain);
  });

  it("a wrong tag, padding or key is exit 7 and writes nothing (file or stdout)", async () => {
    const sealed = await readFile(path("gcm.enc"));
    sealed[100] = (sealed[100] ?? 0) ^ 1;
    await writeFile(path("gcm.bad"), sealed);
    const before = await readdir(token.dir);
    const bad = await token.tsp11([
      "--pin",
      PIN,
      "decrypt",
      "-i",
      "aes",
      "--aad",
      path("aad"),
      "--input",
      path("gcm.bad"),
      "--output",
      path("never.out"),
    ]);
    expect(bad.code).toBe(7);
    expect(bad.stderr).toMatch(/wrong key, or the data is corrupt/);
    expect(await readdir(token.dir)).toEqual(before);
    const toStdout = await token.tsp11([
      "--pin",
      PIN,
      "decrypt",
      "-i",
      "aes",
      "--aad",
      path("aad"),
      "--input",
      path("gcm.bad"),
    ]);
    expect(toStdout.code).toBe(7);
    expect(toStdout.stdoutBytes.length).toBe(0);
    // A last block that decrypts to ...00: never valid PKCS#7 padding.
    const unpadded = await token.exec(
      "openssl",
      ["enc", "-aes-256-cbc", "-nopad", "-K", hex(KEY), "-iv", hex(IV)],
      { input: Buffer.alloc(32) },
    );
    const padding = await token.tsp11(
      [
        "--pin",
        PIN,
        "decrypt",
        "-i",
        "aes",
        "-m",
        "AES-CBC-PAD",
        "--iv",
        hex(IV),
        "--no-iv-prefix",
      ],
      { input: unpadded.stdoutBytes },
    );
    expect(padding.code).toBe(7);
    expect(padding.stdoutBytes.length).toBe(0);
  });

  it("streamed outputs follow the contract's Files rules (mode, symlink, device, failure)", async () => {
    const sealed = path("files.enc");
    await ok(["encrypt", "-i", "aes", "--input", path("plain.bin"), "--output", sealed]);
    const plain = await readFile(path("plain.bin"));
    const decrypt = (output: string) =>
      token.tsp11(["--pin", PIN, "decrypt", "-i", "aes", "--input", sealed, "--output", output]);
    // A new plaintext file is 0600; an existing one keeps its mode (0640) and gets replaced.
    expect((await decrypt(path("new.out"))).code).toBe(0);
    expect((await stat(path("new.out"))).mode & 0o777).toBe(0o600);
    await writeFile(path("old.out"), "old");
    await chmod(path("old.out"), 0o640);
    expect((await decrypt(path("old.out"))).code).toBe(0);
    expect((await stat(path("old.out"))).mode & 0o777).toBe(0o640);
    expect(await readFile(path("old.out"))).toEqual(plain);
    // A symlink stays a symlink; its target gets the plaintext.
    await writeFile(path("target.out"), "");
    await symlink(path("target.out"), path("link.out"));
    expect((await decrypt(path("link.out"))).code).toBe(0);
    expect((await lstat(path("link.out"))).isSymbolicLink()).toBe(true);
    expect(await readFile(path("target.out"))).toEqual(plain);
    // A device is written through.
    expect((await decrypt("/dev/null")).code).toBe(0);
    // A directory: one line, exit 1, no temporary file left.
    const before = await readdir(token.dir);
    const dir = await decrypt(token.dir);
    expect(dir.code).toBe(1);
    expect(dir.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(dir.stderr).toMatch(/^tsp11: write plaintext .*: /);
    expect(await readdir(token.dir)).toEqual(before);
  });

  it("RSA-PKCS-OAEP and RSA-PKCS agree with openssl pkeyutl both ways", async () => {
    const message = Buffer.from("a key to transport\n");
    await writeFile(path("m.txt"), message);
    for (const hash of ["sha1", "sha256", "sha512"]) {
      await ok([
        "encrypt",
        "-i",
        "rsa",
        "--hash",
        hash,
        "--oaep-label",
        "6162",
        "--input",
        path("m.txt"),
        "--output",
        path(`oaep-${hash}.enc`),
      ]);
      const plain = await openssl([
        "pkeyutl",
        "-decrypt",
        "-inkey",
        path("rsa.pem"),
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        `rsa_oaep_md:${hash}`,
        "-pkeyopt",
        "rsa_oaep_label:6162",
        "-in",
        path(`oaep-${hash}.enc`),
      ]);
      expect(plain.stdoutBytes).toEqual(message);
    }
    await openssl([
      "pkeyutl",
      "-encrypt",
      "-pubin",
      "-inkey",
      path("rsa.pub"),
      "-pkeyopt",
      "rsa_padding_mode:oaep",
      "-pkeyopt",
      "rsa_oaep_md:sha1",
      "-in",
      path("m.txt"),
      "-out",
      path("o1.enc"),
    ]);
    expect(
      (await ok(["decrypt", "-i", "rsa", "--hash", "sha1", "--input", path("o1.enc")])).stdoutBytes,
    ).toEqual(message);
    await ok([
      "encrypt",
      "-i",
      "rsa",
      "-m",
      "RSA-PKCS",
      "--input",
      path("m.txt"),
      "--output",
      path("p1.enc"),
    ]);
    const pkcs = await openssl([
      "pkeyutl",
      "-decrypt",
      "-inkey",
      path("rsa.pem"),
      "-in",
      path("p1.enc"),
    ]);
    expect(pkcs.stdoutBytes).toEqual(message);
    await openssl([
      "pkeyutl",
      "-encrypt",
      "-pubin",
      "-inkey",
      path("rsa.pub"),
      "-in",
      path("m.txt"),
      "-out",
      path("p2.enc"),
    ]);
    expect(
      (await ok(["decrypt", "-i", "rsa", "-m", "RSA-PKCS", "--input", path("p2.enc")])).stdoutBytes,
    ).toEqual(message);
  });

  it("refusals: OAEP parameters the token lacks (2), a wrong RSA padding (7), an unknown mechanism (2)", async () => {
    await openssl([
      "pkeyutl",
      "-encrypt",
      "-pubin",
      "-inkey",
      path("rsa.pub"),
      "-pkeyopt",
      "rsa_padding_mode:oaep",
      "-pkeyopt",
      "rsa_oaep_md:sha256",
      "-in",
      path("m.txt"),
      "-out",
      path("o256.enc"),
    ]);
    const params = await token.tsp11([
      "--pin",
      PIN,
      "decrypt",
      "-i",
      "rsa",
      "--input",
      path("o256.enc"),
    ]);
    expect(params.code).toBe(2);
    expect(params.stderr).toMatch(/refused RSA-PKCS-OAEP with hash sha256.*--hash sha1/);
    const wrong = await token.tsp11([
      "--pin",
      PIN,
      "decrypt",
      "-i",
      "rsa",
      "--hash",
      "sha1",
      "--input",
      path("p2.enc"),
    ]);
    expect(wrong.code).toBe(7);
    const unknown = await token.tsp11(["--pin", PIN, "encrypt", "-i", "aes", "-m", "AES-XTS"], {
      input: "x",
    });
    expect(unknown.code).toBe(2);
    const mismatch = await token.tsp11(["--pin", PIN, "encrypt", "-i", "aes", "-m", "RSA-PKCS"], {
      input: "x",
    });
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toMatch(/needs an RSA key.*AES-GCM/);
  });
});
