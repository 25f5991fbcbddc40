/**
 * serve's encrypt, decrypt, wrap, unwrap and derive over real HTTP against a SoftHSM token,
 * each result checked by node's OpenSSL (AES-CBC, AES-GCM, RSA-OAEP, RFC 5649 key wrap, ECDH)
 * with keys whose bytes the test knows; the error mapping (a bad tag is the verify kind, a
 * peer on another curve 400, a body over the limit 413).
 */
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  constants,
  randomBytes,
} from "node:crypto";
import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import type { HttpResult, ServeProcess } from "../helpers/serve.js";
import { http, rawHttp, startServe } from "../helpers/serve.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

const KEK = randomBytes(32);
const INNER = randomBytes(32);

function expectStatus(result: HttpResult, status: number): void {
  if (result.status !== status) {
    throw new Error(`expected HTTP ${status}, got ${result.status}: ${result.text}`);
  }
}

describe.skipIf(!available)("serve: encrypt, decrypt, wrap, unwrap, derive", () => {
  let token: TempToken;
  let server: ServeProcess;
  let rsaPublicPem = "";
  let ecPublicPem = "";

  async function cli(args: string[]) {
    const result = await token.tsp11([...args, "--pin", PIN]);
    if (result.code !== 0) throw new Error(`tsp11 ${args.join(" ")}: ${result.stderr}`);
    return result;
  }

  const post = (path: string, body: unknown) =>
    http(server.target, "POST", `/v1/tokens/crypto/${path}`, {
      body,
      headers: { "x-pkcs11-pin": PIN },
    });

  beforeAll(async () => {
    token = await tempToken({ label: "crypto" });
    const secret = (label: string, hex: string, usage: string, ...more: string[]) =>
      cli([
        "write-object",
        "--type",
        "secret",
        "--key-type",
        "aes",
        "--hex",
        hex,
        "--label",
        label,
        "--usage",
        usage,
        ...more,
      ]);
    await secret("aes", KEK.toString("hex"), "encrypt,decrypt,wrap,unwrap");
    await secret("inner", INNER.toString("hex"), "encrypt,decrypt", "--extractable");
    const rsa = await cli([
      "keygen",
      "--key-type",
      "rsa:2048",
      "--label",
      "rsa",
      "--usage",
      "decrypt",
      "--json",
    ]);
    rsaPublicPem = (JSON.parse(rsa.stdout) as { publicKeyPem: string }).publicKeyPem;
    const ec = await cli([
      "keygen",
      "--key-type",
      "ec:prime256v1",
      "--label",
      "ecdh",
      "--usage",
      "derive",
      "--json",
    ]);
    ecPublicPem = (JSON.parse(ec.stdout) as { publicKeyPem: string }).publicKeyPem;
    server = await startServe(token.env);
    return async () => {
      await server.stop();
      await token[Symbol.asyncDispose]();
    };
  });

  it("encrypts with AES-CBC-PAD as openssl does, the IV first", async () => {
    const iv = randomBytes(16);
    const plain = Buffer.from("serve encrypts this\n");
    const result = await post("encrypt", {
      key: "aes",
      mechanism: "AES-CBC-PAD",
      iv: iv.toString("hex"),
      dataBase64: plain.toString("base64"),
    });
    expectStatus(result, 200);
    const json = result.json as { ciphertextBase64: string; ivHex: string; length: number };
    expect(json).toMatchObject({ mechanism: "AES-CBC-PAD", keyLabel: "aes", path: "token" });
    expect(json.ivHex).toBe(iv.toString("hex"));
    const bytes = Buffer.from(json.ciphertextBase64, "base64");
    expect(json.length).toBe(bytes.length);
    expect(bytes.subarray(0, 16)).toEqual(iv);
    const expected = createCipheriv("aes-256-cbc", KEK, iv);
    expect(bytes.subarray(16)).toEqual(Buffer.concat([expected.update(plain), expected.final()]));
  });

  it("round-trips AES-GCM; a changed tag is the verify kind with the mapper's status", async () => {
    const plain = randomBytes(1000);
    const aad = Buffer.from("header");
    const encrypted = await post("encrypt", {
      key: "aes",
      aadBase64: aad.toString("base64"),
      dataBase64: plain.toString("base64"),
    });
    expectStatus(encrypted, 200);
    const { ciphertextBase64 } = encrypted.json as { ciphertextBase64: string };
    const bytes = Buffer.from(ciphertextBase64, "base64");
    // node checks it: nonce ‖ ciphertext ‖ 16-byte tag.
    const decipher = createDecipheriv("aes-256-gcm", KEK, bytes.subarray(0, 12));
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const opened = Buffer.concat([
      decipher.update(bytes.subarray(12, bytes.length - 16)),
      decipher.final(),
    ]);
    expect(opened).toEqual(plain);
    const decrypted = await post("decrypt", {
      key: "aes",
      aadBase64: aad.toString("base64"),
      dataBase64: ciphertextBase64,
    });
    expectStatus(decrypted, 200);
    const answer = decrypted.json as { plaintextBase64: string; length: number };
    expect(Buffer.from(answer.plaintextBase64, "base64")).toEqual(plain);
    expect(answer.length).toBe(plain.length);
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    const refused = await post("decrypt", {
      key: "aes",
      aadBase64: aad.toString("base64"),
      dataBase64: tampered.toString("base64"),
    });
    expect(refused.status).toBe(500);
    expect((refused.json as { error: { kind: string; exit: number } }).error).toMatchObject({
      kind: "verify",
      exit: 7,
    });
  });

  it("decrypts RSA-OAEP (SHA-1) that node encrypted with the token's public key", async () => {
    const plain = Buffer.from("a session key");
    const ciphertext = publicEncrypt(
      {
        key: createPublicKey(rsaPublicPem),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: "sha1",
      },
      plain,
    );
    const result = await post("decrypt", {
      key: "rsa",
      hash: "sha1",
      dataBase64: ciphertext.toString("base64"),
    });
    expectStatus(result, 200);
    const json = result.json as { plaintextBase64: string; mechanism: string };
    expect(json.mechanism).toBe("RSA-PKCS-OAEP");
    expect(Buffer.from(json.plaintextBase64, "base64")).toEqual(plain);
  });

  it("wraps with AES-KEY-WRAP-PAD as RFC 5649 says, and unwraps into a working key", async () => {
    const wrapped = await post("wrap", { wrappingKey: "aes", key: "inner" });
    expectStatus(wrapped, 200);
    const json = wrapped.json as { wrappedBase64: string; mechanism: string; keyType: string };
    expect(json).toMatchObject({ mechanism: "AES-KEY-WRAP-PAD", keyType: "aes" });
    const expected = createCipheriv("id-aes256-wrap-pad", KEK, Buffer.from("a65959a6", "hex"));
    expect(Buffer.from(json.wrappedBase64, "base64")).toEqual(
      Buffer.concat([expected.update(INNER), expected.final()]),
    );

    const unwrapped = await post("unwrap", {
      wrappingKey: "aes",
      wrappedBase64: json.wrappedBase64,
      keyType: "aes",
      label: "inner-copy",
      id: "c0",
      usage: ["encrypt", "decrypt"],
    });
    expectStatus(unwrapped, 201);
    expect(unwrapped.json).toMatchObject({
      label: "inner-copy",
      id: "c0",
      keyClass: "secret-key",
      keyType: "aes",
      publicKey: false,
    });
    const iv = randomBytes(16);
    const encrypted = await post("encrypt", {
      key: "inner-copy",
      mechanism: "AES-CBC-PAD",
      iv: iv.toString("hex"),
      ivPrefix: false,
      dataBase64: Buffer.from("unwrapped").toString("base64"),
    });
    expectStatus(encrypted, 200);
    const decipher = createDecipheriv("aes-256-cbc", INNER, iv);
    const bytes = Buffer.from(
      (encrypted.json as { ciphertextBase64: string }).ciphertextBase64,
      "base64",
    );
    expect(Buffer.concat([decipher.update(bytes), decipher.final()]).toString()).toBe("unwrapped");

    const again = await post("unwrap", {
      wrappingKey: "aes",
      wrappedBase64: json.wrappedBase64,
      keyType: "aes",
      label: "inner-copy",
    });
    expect(again.status).toBe(409);
    const corrupt = Buffer.from(json.wrappedBase64, "base64");
    corrupt[0] = (corrupt[0] ?? 0) ^ 1;
    const bad = await post("unwrap", {
      wrappingKey: "aes",
      wrappedBase64: corrupt.toString("base64"),
      keyType: "aes",
      label: "corrupt",
    });
    expect((bad.json as { error: { kind: string } }).error.kind).toBe("verify");
  });

  it("derives by ECDH a secret equal to node's diffieHellman", async () => {
    const peer = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const peerPem = peer.publicKey.export({ type: "spki", format: "pem" });
    const derived = await post("derive", {
      key: "ecdh",
      peerPem,
      keyType: "generic:256",
      label: "shared",
      extractable: true,
      sensitive: false,
    });
    expectStatus(derived, 201);
    expect(derived.json).toMatchObject({ label: "shared", keyType: "generic-secret", bits: 256 });
    await cli([
      "read-object",
      "--type",
      "secret",
      "--label",
      "shared",
      "-o",
      token.path("shared.bin"),
    ]);
    const expected = diffieHellman({
      privateKey: peer.privateKey,
      publicKey: createPublicKey(ecPublicPem),
    });
    expect(await readFile(token.path("shared.bin"))).toEqual(expected);

    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    const wrongCurve = await post("derive", {
      key: "ecdh",
      peerPem: p384.publicKey.export({ type: "spki", format: "pem" }),
      keyType: "aes:128",
      label: "x",
    });
    expect(wrongCurve.status).toBe(400);
    expect((wrongCurve.json as { error: { message: string } }).error.message).toMatch(/secp384r1/);
  });

  it("refuses unknown fields (400) and a body over the limit (413)", async () => {
    const unknown = await post("encrypt", { key: "aes", dataBase64: "", colour: "red" });
    expect(unknown.status).toBe(400);
    const body = JSON.stringify({
      key: "aes",
      dataBase64: randomBytes(1024 * 1024).toString("base64"),
    });
    const head = [
      "POST /v1/tokens/crypto/encrypt HTTP/1.1",
      "Host: 127.0.0.1",
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-PKCS11-PIN: ${PIN}`,
    ];
    // Sent whole, the answer read whatever happens to that write (the server may answer 413
    // before the body is in): an ordinary client can meet EPIPE here.
    const big = await rawHttp(server.target, `${head.join("\r\n")}\r\n\r\n${body}`);
    expect(big.status).toBe(413);
    expect((big.json as { error: { kind: string } }).error.kind).toBe("usage");
  });
});
