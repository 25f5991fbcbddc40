import { describe, it, expect } from "vitest";
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { ecdsaDerToRaw, ecdsaRawToDer } from "../../../src/asn1/ecdsa.js";
import { fromHex, toHex } from "../../../src/asn1/bytes.js";
import { TspError } from "../../../src/errors.js";

const rs = (r: string, s: string): Uint8Array => fromHex(r + s);
const fill = (n: number, byte: string): string => byte.repeat(n);

describe("ecdsaRawToDer", () => {
  // Expected DER written out by hand from X.690: SEQUENCE { INTEGER r, INTEGER s }.
  const CASES: [name: string, raw: Uint8Array, der: string][] = [
    [
      "P-256, r with the high bit set gets a 00",
      rs(fill(32, "80"), fill(31, "00") + "01"),
      "3026" + "0221" + "00" + fill(32, "80") + "020101",
    ],
    [
      "P-256, leading zero bytes of r are stripped",
      rs("0000" + fill(30, "11"), fill(32, "22")),
      "3042" + "021e" + fill(30, "11") + "0220" + fill(32, "22"),
    ],
    [
      "P-256, leading zeros stripped down to a high-bit byte keep one 00",
      rs("0000ff" + fill(29, "01"), fill(32, "7f")),
      "3043" + "021f" + "00ff" + fill(29, "01") + "0220" + fill(32, "7f"),
    ],
    [
      "P-384, s = 1",
      rs(fill(48, "7e"), fill(47, "00") + "01"),
      "3035" + "0230" + fill(48, "7e") + "020101",
    ],
    [
      // s loses its zero byte, then needs it back for the high bit: still 66 bytes.
      "P-521, 66-byte halves (r's top byte is 01)",
      rs("01" + fill(65, "ff"), "00" + fill(65, "aa")),
      "308188" + "0242" + "01" + fill(65, "ff") + "0242" + "00" + fill(65, "aa"),
    ],
  ];

  it.each(CASES)("%s", (_name, raw, der) => {
    expect(toHex(ecdsaRawToDer(raw))).toBe(der);
  });

  it("round-trips through ecdsaDerToRaw", () => {
    for (const [, raw] of CASES) {
      expect(ecdsaDerToRaw(ecdsaRawToDer(raw), raw.length / 2)).toEqual(raw);
    }
  });

  it("rejects raw input that is not two halves", () => {
    expect(() => ecdsaRawToDer(new Uint8Array(63))).toThrow(TspError);
    expect(() => ecdsaRawToDer(new Uint8Array(0))).toThrow(TspError);
  });
});

describe("ecdsaDerToRaw", () => {
  it("left-pads short integers to the field size", () => {
    expect(toHex(ecdsaDerToRaw(fromHex("3006020101020102"), 32))).toBe(
      fill(31, "00") + "01" + fill(31, "00") + "02",
    );
  });

  it("rejects values wider than the field, negative values and junk", () => {
    const wide = fromHex("3026" + "0221" + "01" + fill(32, "00") + "020101");
    expect(() => ecdsaDerToRaw(wide, 32)).toThrow(/does not fit 32-byte halves/);
    expect(() => ecdsaDerToRaw(fromHex("3006020180020101"), 32)).toThrow(TspError);
    expect(() => ecdsaDerToRaw(fromHex("deadbeef"), 32)).toThrow(TspError);
    expect(() => ecdsaDerToRaw(fromHex("300602010102010100"), 32)).toThrow(/1 trailing byte after/);
  });
});

describe("against node:crypto", () => {
  it.each([
    ["prime256v1", 32],
    ["secp384r1", 48],
    ["secp521r1", 66],
  ])("%s: a raw (P1363) signature converted to DER verifies as DER", (namedCurve, field) => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve });
    const data = Buffer.from("tsp11 ecdsa test");
    for (let i = 0; i < 8; i++) {
      const raw = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
      expect(raw.length).toBe(2 * field);
      const der = ecdsaRawToDer(raw);
      expect(verify("sha256", data, publicKey, der)).toBe(true);
      expect(Buffer.from(ecdsaDerToRaw(der, field)).equals(raw)).toBe(true);
      const nodeDer = sign("sha256", data, privateKey);
      expect(
        verify(
          "sha256",
          data,
          { key: publicKey, dsaEncoding: "ieee-p1363" },
          ecdsaDerToRaw(nodeDer, field),
        ),
      ).toBe(true);
    }
  });
});
