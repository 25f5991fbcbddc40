import { describe, it, expect } from "vitest";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  decryptPrivateKeyFile,
  privateKeyParts,
  readPrivateKeyFile,
} from "../../../src/asn1/private-key.js";
import type { PrivateKeyFile } from "../../../src/asn1/private-key.js";
import { toHex } from "../../../src/asn1/bytes.js";
import { TspError } from "../../../src/errors.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/keys");
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));
const publicDer = (name: string): string =>
  toHex(
    createPublicKey(readFileSync(join(FIXTURES, name))).export({ format: "der", type: "spki" }),
  );

function plain(file: PrivateKeyFile): Uint8Array {
  if (file.encrypted) throw new Error("expected a plain key");
  return file.pkcs8;
}

function kindOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof TspError ? error.kind : "other";
  }
  return undefined;
}

describe("readPrivateKeyFile + privateKeyParts", () => {
  it.each([
    ["rsa2048.pkcs8.pem", "rsa2048.pub.pem"],
    ["rsa2048.pkcs1.pem", "rsa2048.pub.pem"],
    ["rsa2048.pkcs8.der", "rsa2048.pub.pem"],
    ["p256.sec1.pem", "p256.pub.pem"],
    ["p384.pkcs8.pem", "p384.pub.pem"],
    ["k256.sec1.pem", "k256.pub.pem"],
    ["ed25519.pkcs8.pem", "ed25519.pub.pem"],
  ])("%s: the public half is openssl's", (keyFile, pubFile) => {
    const parts = privateKeyParts(plain(readPrivateKeyFile(fixture(keyFile))));
    expect(toHex(parts.spki)).toBe(publicDer(pubFile));
  });

  it("RSA: the eight numbers are the key's (openssl's JWK agrees)", () => {
    const parts = privateKeyParts(plain(readPrivateKeyFile(fixture("rsa2048.pkcs1.pem"))));
    const jwk = createPrivateKey(readFileSync(join(FIXTURES, "rsa2048.pkcs1.pem"))).export({
      format: "jwk",
    });
    const b64 = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString("base64url");
    expect(parts.keyType).toBe("rsa");
    expect(parts.bits).toBe(2048);
    expect(b64(parts.rsa?.modulus)).toBe(jwk.n);
    expect(b64(parts.rsa?.privateExponent)).toBe(jwk.d);
    expect(b64(parts.rsa?.prime1)).toBe(jwk.p);
    expect(b64(parts.rsa?.coefficient)).toBe(jwk.qi);
  });

  it("EC: scalar at the field length, curve params, uncompressed point", () => {
    const parts = privateKeyParts(plain(readPrivateKeyFile(fixture("p384.pkcs8.pem"))));
    expect(parts).toMatchObject({ keyType: "ec", curve: "secp384r1", bits: 384 });
    expect(parts.value).toHaveLength(48);
    expect(toHex(parts.ecParams ?? new Uint8Array())).toBe("06052b81040022");
    expect(parts.ecPoint?.[0]).toBe(4);
    expect(parts.ecPoint).toHaveLength(97);
  });

  it("a curve tsp11 has no name for keeps its OID and the DER params", () => {
    const parts = privateKeyParts(plain(readPrivateKeyFile(fixture("k256.sec1.pem"))));
    expect(parts.keyType).toBe("ec");
    expect(["secp256k1", "1.3.132.0.10"]).toContain(parts.curve);
    expect(toHex(parts.ecParams ?? new Uint8Array())).toBe("06052b8104000a");
    expect(parts.value).toHaveLength(32);
  });

  it("Ed25519: the 32 key bytes", () => {
    const parts = privateKeyParts(plain(readPrivateKeyFile(fixture("ed25519.pkcs8.pem"))));
    expect(parts).toMatchObject({ keyType: "ec-edwards", curve: "ed25519" });
    expect(parts.value).toHaveLength(32);
    expect(parts.ecPoint).toHaveLength(32);
  });

  it("an encrypted PKCS#8 waits for its pass phrase; the right one opens it", () => {
    const file = readPrivateKeyFile(fixture("rsa2048.enc.pem"));
    expect(file.encrypted).toBe(true);
    if (!file.encrypted) return;
    expect(file.algorithm).toBe("1.2.840.113549.1.5.13");
    const parts = privateKeyParts(decryptPrivateKeyFile(file, "secret"));
    expect(toHex(parts.spki)).toBe(publicDer("rsa2048.pub.pem"));
  });

  it("a wrong pass phrase is an auth error (exit 4)", () => {
    const file = readPrivateKeyFile(fixture("rsa2048.enc.pem"));
    if (!file.encrypted) throw new Error("expected encrypted");
    expect(kindOf(() => decryptPrivateKeyFile(file, "wrong"))).toBe("auth");
  });

  it.each([
    ["a certificate", fixture("ca.pem")],
    ["a public key", fixture("p256.pub.pem")],
    ["random bytes", new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])],
    ["empty input", new Uint8Array()],
  ])("%s is a usage error", (_name, input) => {
    expect(kindOf(() => privateKeyParts(plain(readPrivateKeyFile(input))))).toBe("usage");
  });

  it("trailing bytes after a DER key are refused", () => {
    const der = fixture("rsa2048.pkcs8.der");
    const longer = new Uint8Array([...der, 0]);
    expect(kindOf(() => readPrivateKeyFile(longer))).toBe("usage");
  });

  it("a key whose public half does not match its private half is refused", () => {
    // Swap the private scalar of a SEC1 key: the embedded public key no longer matches.
    const pem = readFileSync(join(FIXTURES, "p256.sec1.pem"), "utf8");
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
    // SEC1: 30 77 02 01 01 04 20 <32-byte scalar> ...
    expect(der.subarray(5, 7).toString("hex")).toBe("0420");
    der[7] = (der[7] ?? 0) ^ 0x01;
    expect(kindOf(() => privateKeyParts(plain(readPrivateKeyFile(der))))).toBe("usage");
  });
});
