import { describe, it, expect } from "vitest";
import { CURVES, curveFromEcParams, findCurve } from "../../../src/asn1/curves.js";
import { fromHex } from "../../../src/asn1/bytes.js";

describe("findCurve", () => {
  it.each([
    ["prime256v1", "prime256v1"],
    ["P-256", "prime256v1"],
    ["p-256", "prime256v1"],
    ["SECP256R1", "prime256v1"],
    ["secp384r1", "secp384r1"],
    ["P-384", "secp384r1"],
    ["P-521", "secp521r1"],
    ["Ed25519", "ed25519"],
    ["edwards25519", "ed25519"],
    ["ED448", "ed448"],
  ])("%s -> %s", (input, name) => {
    expect(findCurve(input)?.name).toBe(name);
  });

  it("does not know other curves", () => {
    expect(findCurve("sect163k1")).toBeUndefined();
    expect(findCurve("")).toBeUndefined();
  });
});

describe("curveFromEcParams", () => {
  it.each([
    ["06082a8648ce3d030107", "prime256v1"],
    ["06052b81040022", "secp384r1"],
    ["06052b81040023", "secp521r1"],
    ["06032b6570", "ed25519"],
    ["06032b6571", "ed448"],
    // PKCS#11 3.0 PrintableString forms written by SoftHSM and OpenSC.
    ["130c656477617264733235353139", "ed25519"],
    ["130a65647761726473343438", "ed448"],
  ])("%s -> %s", (hex, name) => {
    expect(curveFromEcParams(fromHex(hex))?.name).toBe(name);
  });

  it("returns undefined for unknown or truncated params", () => {
    expect(curveFromEcParams(fromHex("06052b81040001"))).toBeUndefined(); // sect163k1
    expect(curveFromEcParams(fromHex("06052b8104000a"))?.name).toBe("secp256k1");
    expect(curveFromEcParams(fromHex("06092b240303020801010b"))?.name).toBe("brainpoolP384r1");
    expect(findCurve("BRAINPOOLP512R1")?.name).toBe("brainpoolP512r1");
    expect(curveFromEcParams(fromHex("06082a8648ce3d0301"))).toBeUndefined();
  });

  it("has field sizes matching the curves", () => {
    expect(CURVES.map((c) => [c.name, c.fieldBytes, c.keyType])).toEqual([
      ["prime256v1", 32, "ec"],
      ["secp384r1", 48, "ec"],
      ["secp521r1", 66, "ec"],
      ["secp256k1", 32, "ec"],
      ["brainpoolP256r1", 32, "ec"],
      ["brainpoolP384r1", 48, "ec"],
      ["brainpoolP512r1", 64, "ec"],
      ["ed25519", 32, "ec-edwards"],
      ["ed448", 57, "ec-edwards"],
      ["x25519", 32, "ec-montgomery"],
      ["x448", 56, "ec-montgomery"],
    ]);
  });
});
