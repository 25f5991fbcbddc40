import { describe, expect, it } from "vitest";
import { TspError } from "../../../src/errors.js";
import { toHex } from "../../../src/asn1/bytes.js";
import { parseHexId, parseKeySpec, parseSlotId, parseUsage } from "../../../src/options.js";

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TspError);
    expect((error as TspError).exitCode).toBe(2);
    return (error as TspError).message;
  }
  throw new Error("expected a usage error");
}

describe("parseHexId", () => {
  it.each([
    ["0a1b", "0a1b"],
    ["0x0A1B", "0a1b"],
    ["0a:1b", "0a1b"],
    ["%0a%1B", "0a1b"],
    ["00", "00"],
  ])("%s -> %s", (input, hex) => {
    expect(toHex(parseHexId(input))).toBe(hex);
  });

  it.each(["", "abc", "zz", "0x", "0a:1", "%0"])("refuses %j", (input) => {
    expect(usageMessage(() => parseHexId(input))).toMatch(/invalid id/);
  });
});

describe("parseSlotId", () => {
  it.each([
    ["0", 0],
    ["17", 17],
    ["0x11", 17],
    ["0X2C37DD71", 0x2c37dd71],
  ])("%s -> %d", (input, id) => {
    expect(parseSlotId(input)).toBe(id);
  });

  it.each(["-1", "0x", "abc", "1.5"])("refuses %j", (input) => {
    expect(usageMessage(() => parseSlotId(input))).toMatch(/invalid slot id/);
  });
});

describe("parseKeySpec", () => {
  it.each([
    ["rsa:2048", { keyType: "rsa", bits: 2048 }],
    ["RSA:4096", { keyType: "rsa", bits: 4096 }],
    ["ec:prime256v1", { keyType: "ec", curve: "prime256v1" }],
    ["EC:prime256v1", { keyType: "ec", curve: "prime256v1" }],
    ["ec:P-256", { keyType: "ec", curve: "prime256v1" }],
    ["ec:secp384r1", { keyType: "ec", curve: "secp384r1" }],
    ["ec:P-521", { keyType: "ec", curve: "secp521r1" }],
    ["ed25519", { keyType: "ec-edwards", curve: "ed25519" }],
    ["EC:edwards25519", { keyType: "ec-edwards", curve: "ed25519" }],
    ["ec:secp256k1", { keyType: "ec", curve: "secp256k1" }],
    ["EC:brainpoolP384r1", { keyType: "ec", curve: "brainpoolP384r1" }],
    ["ed448", { keyType: "ec-edwards", curve: "ed448" }],
    ["x25519", { keyType: "ec-montgomery", curve: "x25519" }],
    ["hmac:256", { keyType: "generic-secret", bits: 256, hmac: true }],
    ["generic:128", { keyType: "generic-secret", bits: 128, hmac: false }],
    ["DES3", { keyType: "des3", bits: 192 }],
    ["aes:256", { keyType: "aes", bits: 256 }],
  ])("%s", (input, spec) => {
    expect(parseKeySpec(input)).toEqual(spec);
  });

  it.each([
    ["rsa:512", /1024\.\.8192/],
    ["rsa:9000", /1024\.\.8192/],
    ["rsa", /1024\.\.8192/],
    ["ec:sect163k1", /unknown curve/],
    ["hmac:7", /multiple of 8/],
    ["des3:128", /takes no parameter/],
    ["aes:64", /128, 192 or 256/],
    ["dsa:1024", /unknown type/],
    ["rsa:2048:1", /too many/],
  ])("refuses %s", (input, why) => {
    const message = usageMessage(() => parseKeySpec(input));
    expect(message).toMatch(why);
    expect(message).toMatch(/accepted: rsa:/);
  });
});

describe("parseUsage", () => {
  it("takes a list and pkcs11-tool spellings", () => {
    expect(parseUsage("sign,decrypt")).toEqual(["sign", "decrypt"]);
    expect(parseUsage("--usage-sign, derive")).toEqual(["sign", "derive"]);
    expect(parseUsage("sign,sign")).toEqual(["sign"]);
  });

  it("refuses unknown words and empty lists", () => {
    expect(usageMessage(() => parseUsage("sign,teleport"))).toMatch(/invalid usage "teleport"/);
    expect(usageMessage(() => parseUsage(","))).toMatch(/at least one/);
  });
});
