import { describe, it, expect } from "vitest";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import { ecSpki, parseSpki, rsaSpki, spkiEquals, spkiToPem } from "../../../src/asn1/spki.js";
import { fromHex, toHex } from "../../../src/asn1/bytes.js";
import { TspError } from "../../../src/errors.js";
import { curve, wrap } from "./ec-fixtures.js";

const b64u = (s: string | undefined): Uint8Array =>
  new Uint8Array(Buffer.from(s ?? "", "base64url"));
const spkiOf = (key: KeyObject): Uint8Array =>
  new Uint8Array(key.export({ type: "spki", format: "der" }));

describe("rsaSpki", () => {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = publicKey.export({ format: "jwk" });
  const n = b64u(jwk.n);
  const e = b64u(jwk.e);

  it("equals node's SPKI byte for byte", () => {
    expect(toHex(rsaSpki(n, e))).toBe(toHex(spkiOf(publicKey)));
  });

  it("ignores leading zeros a module may leave on the big integers", () => {
    const padded = new Uint8Array([0, 0, ...n]);
    expect(toHex(rsaSpki(padded, new Uint8Array([0, ...e])))).toBe(toHex(spkiOf(publicKey)));
  });

  it("parses back to modulus, exponent and bits", () => {
    const info = parseSpki(spkiOf(publicKey));
    expect(info.keyType).toBe("rsa");
    expect(info.bits).toBe(2048);
    expect(info.modulus).toEqual(n);
    expect(toHex(info.publicExponent ?? new Uint8Array())).toBe("010001");
    expect(info.curve).toBeUndefined();
  });

  it("counts bits of an odd-sized modulus", () => {
    const { publicKey: k } = generateKeyPairSync("rsa", { modulusLength: 1025 });
    expect(parseSpki(spkiOf(k)).bits).toBe(1025);
  });
});

describe("ecSpki", () => {
  it.each([
    ["prime256v1", 256],
    ["secp384r1", 384],
    ["secp521r1", 521],
  ])("%s: equals node's SPKI from wrapped and raw CKA_EC_POINT", (name, bits) => {
    const c = curve(name);
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: name });
    const jwk = publicKey.export({ format: "jwk" });
    const point = new Uint8Array([4, ...b64u(jwk.x), ...b64u(jwk.y)]);
    expect(point.length).toBe(1 + 2 * c.fieldBytes);
    const params = fromHex(c.ecParamsHex);
    const expected = toHex(spkiOf(publicKey));
    expect(toHex(ecSpki(params, wrap(point)))).toBe(expected);
    expect(toHex(ecSpki(params, point))).toBe(expected);
    expect(parseSpki(spkiOf(publicKey))).toEqual({
      keyType: "ec",
      bits,
      curve: name,
      ecPoint: point,
    });
  });

  it.each([
    ["ed25519", "06032b6570"],
    ["ed25519", "130c656477617264733235353139"], // PrintableString "edwards25519" (SoftHSM)
    ["ed448", "06032b6571"],
    ["ed448", "130a65647761726473343438"],
  ] as const)("%s with params %s: an RFC 8410 SPKI", (name, paramsHex) => {
    const { publicKey } =
      name === "ed25519" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ed448");
    const raw = b64u(publicKey.export({ format: "jwk" }).x);
    const expected = toHex(spkiOf(publicKey));
    expect(toHex(ecSpki(fromHex(paramsHex), wrap(raw)))).toBe(expected);
    expect(toHex(ecSpki(fromHex(paramsHex), raw))).toBe(expected);
    expect(parseSpki(spkiOf(publicKey))).toEqual({
      keyType: "ec-edwards",
      bits: curve(name).bits,
      curve: name,
      ecPoint: raw,
    });
  });

  it("refuses a point of the wrong size for the curve", () => {
    const p256 = fromHex(curve("P-256").ecParamsHex);
    expect(() => ecSpki(p256, new Uint8Array(64).fill(4))).toThrow(TspError);
    expect(() => ecSpki(fromHex("06032b6570"), new Uint8Array(31))).toThrow(
      "CKA_EC_POINT is not a valid ed25519 point (31 bytes)",
    );
  });
});

describe("parseSpki errors", () => {
  it("refuses garbage and other key types", () => {
    expect(() => parseSpki(fromHex("deadbeef"))).toThrow(TspError);
    const { publicKey } = generateKeyPairSync("dsa", { modulusLength: 1024, divisorLength: 160 });
    expect(() => parseSpki(spkiOf(publicKey))).toThrow(
      "unsupported public key algorithm 1.2.840.10040.4.1",
    );
  });
});

describe("spkiEquals", () => {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const der = spkiOf(publicKey);

  it("matches equivalent encodings of the same key", () => {
    // Same RSA key with the AlgorithmIdentifier's NULL parameters left out.
    const parsed = AsnConvert.parse(der, SubjectPublicKeyInfo);
    parsed.algorithm = new AlgorithmIdentifier({ algorithm: parsed.algorithm.algorithm });
    const variant = new Uint8Array(AsnConvert.serialize(parsed));
    expect(toHex(variant)).not.toBe(toHex(der));
    expect(spkiEquals(der, variant)).toBe(true);
  });

  it("tells different keys apart, and garbage matches nothing", () => {
    const other = spkiOf(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey);
    expect(spkiEquals(der, other)).toBe(false);
    const ec = spkiOf(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey);
    expect(spkiEquals(der, ec)).toBe(false);
    expect(spkiEquals(ec, ec)).toBe(true);
    expect(spkiEquals(fromHex("3000"), fromHex("3000"))).toBe(false);
  });
});

describe("spkiToPem", () => {
  it("equals node's PEM export", () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    expect(spkiToPem(spkiOf(publicKey))).toBe(publicKey.export({ type: "spki", format: "pem" }));
  });
});
