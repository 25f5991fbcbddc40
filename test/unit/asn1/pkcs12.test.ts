import { describe, it, expect } from "vitest";
import { createHash, getCiphers, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bmpPassword, KDF_KEY, KDF_MAC, pkcs12Kdf } from "../../../src/asn1/pbe.js";
import { parsePkcs12 } from "../../../src/asn1/pkcs12.js";
import { privateKeyParts } from "../../../src/asn1/private-key.js";
import { toHex } from "../../../src/asn1/bytes.js";
import { TspError } from "../../../src/errors.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/keys");
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));
const certDer = (name: string): string =>
  toHex(new X509Certificate(readFileSync(join(FIXTURES, name))).raw);

function errorOf(run: () => unknown): TspError | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof TspError) return error;
    throw error;
  }
  return undefined;
}

describe("pkcs12Kdf (RFC 7292 appendix B)", () => {
  // Vectors of the PKCS#12 KDF as published with OpenSSL's and BouncyCastle's test suites
  // (password "smeg", salt 0a58cf64530d823f, SHA-1).
  const salt = Buffer.from("0a58cf64530d823f", "hex");
  it("derives the key of id 1", () => {
    const key = pkcs12Kdf("sha1", bmpPassword("smeg"), salt, KDF_KEY, 1, 24);
    expect(key.toString("hex")).toBe("8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3");
  });
  it("iterates", () => {
    const key = pkcs12Kdf(
      "sha1",
      bmpPassword("queeg"),
      Buffer.from("1682c0fc5b3f7ec5", "hex"),
      KDF_KEY,
      1000,
      24,
    );
    expect(key.toString("hex")).toBe("483dd6e919d7de2e8e648ba8f862f3fbfbdc2bcb2c02957f");
  });
  it("a MAC key is another purpose's bytes", () => {
    const mac = pkcs12Kdf("sha1", bmpPassword("smeg"), salt, KDF_MAC, 1, 20);
    expect(mac.toString("hex")).not.toBe(
      pkcs12Kdf("sha1", bmpPassword("smeg"), salt, KDF_KEY, 1, 20).toString("hex"),
    );
  });
});

describe("parsePkcs12", () => {
  const cases: [string, string][] = [
    ["OpenSSL 3 default (PBES2 AES-256-CBC, SHA-256 MAC)", "leaf.p12"],
    ["-legacy with 3DES certificates", "leaf-legacy-3des.p12"],
  ];
  it.each(cases)("%s: key, certificate and chain", (_name, file) => {
    const contents = parsePkcs12(fixture(file), "secret");
    expect(contents.keys).toHaveLength(1);
    const [key] = contents.keys;
    expect(key?.friendlyName).toBe("leaf key");
    const parts = privateKeyParts(key?.der ?? new Uint8Array());
    expect(parts.curve).toBe("prime256v1");
    const certs = contents.certificates.map((c) => toHex(c.der)).sort();
    expect(certs).toEqual([certDer("ca.pem"), certDer("leaf.pem")].sort());
    const leaf = contents.certificates.find((c) => toHex(c.der) === certDer("leaf.pem"));
    expect(toHex(leaf?.localKeyId ?? new Uint8Array())).toBe(
      toHex(key?.localKeyId ?? new Uint8Array()),
    );
    // OpenSSL's localKeyId is the SHA-1 of the certificate.
    expect(toHex(key?.localKeyId ?? new Uint8Array())).toBe(
      createHash("sha1")
        .update(Buffer.from(certDer("leaf.pem"), "hex"))
        .digest("hex"),
    );
  });

  it("an empty password", () => {
    const contents = parsePkcs12(fixture("leaf-nopass.p12"), "");
    expect(contents.keys).toHaveLength(1);
    expect(contents.certificates).toHaveLength(1);
  });

  it("RC2-40 certificates: parsed with the legacy cipher, or refused naming it", () => {
    const rc2 = getCiphers().includes("rc2-40-cbc");
    const run = () => parsePkcs12(fixture("leaf-legacy-rc2.p12"), "secret");
    if (rc2) {
      expect(run().certificates).toHaveLength(2);
    } else {
      const error = errorOf(run);
      expect(error?.kind).toBe("usage");
      expect(error?.message).toMatch(/RC2-40/);
      expect(error?.message).toMatch(/--openssl-legacy-provider/);
    }
  });

  it.each(["leaf.p12", "leaf-legacy-3des.p12"])("%s: a wrong password is exit 4", (file) => {
    const error = errorOf(() => parsePkcs12(fixture(file), "wrong"));
    expect(error?.kind).toBe("auth");
    expect(error?.message).not.toMatch(/wrong"|secret/);
  });

  it.each([
    ["a PEM file", fixture("leaf.pem")],
    ["a private key", fixture("rsa2048.pkcs8.der")],
    ["garbage", new Uint8Array([1, 2, 3])],
  ])("%s is no PKCS#12 (exit 2)", (_name, input) => {
    expect(errorOf(() => parsePkcs12(input, "secret"))?.kind).toBe("usage");
  });

  it("trailing data is refused", () => {
    const input = new Uint8Array([...fixture("leaf.p12"), 0, 0]);
    expect(errorOf(() => parsePkcs12(input, "secret"))?.kind).toBe("usage");
  });
});
