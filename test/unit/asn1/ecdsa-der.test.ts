import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { ecdsaRawToDer } from "../../../src/asn1/ecdsa.js";
import { ecdsaRawToDerFast } from "../../../src/asn1/ecdsa-der.js";
import { TspError } from "../../../src/errors.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

describe("ecdsaRawToDerFast", () => {
  it("writes the hand-checked P-256 form: high bit gets a 00, leading zeros go", () => {
    const raw = Buffer.from("80".repeat(32) + "00".repeat(31) + "01", "hex");
    expect(hex(ecdsaRawToDerFast(raw))).toBe("3026" + "0221" + "00" + "80".repeat(32) + "020101");
  });

  it("uses the long length form for P-521 (SEQUENCE over 127 bytes)", () => {
    const raw = Buffer.from("01ff".repeat(33) + "01ff".repeat(33), "hex");
    const der = ecdsaRawToDerFast(raw);
    expect(hex(der.subarray(0, 3))).toBe("308188");
    expect(hex(der)).toBe(hex(ecdsaRawToDer(raw)));
  });

  it("keeps one zero byte for a zero half", () => {
    const raw = new Uint8Array(64);
    raw[63] = 5;
    expect(hex(ecdsaRawToDerFast(raw))).toBe("3006020100020105");
  });

  it.each([32, 48, 66])("agrees with the schema encoder on random %i-byte halves", (field) => {
    for (let i = 0; i < 200; i++) {
      const raw = randomBytes(2 * field);
      // Exercise leading zeros and set top bits too.
      if (i % 4 === 1) raw.fill(0, 0, 3);
      if (i % 4 === 2) raw[field] = 0x80;
      expect(hex(ecdsaRawToDerFast(raw))).toBe(hex(ecdsaRawToDer(raw)));
    }
  });

  it("refuses input that is not r‖s", () => {
    expect(() => ecdsaRawToDerFast(new Uint8Array(63))).toThrow(TspError);
    expect(() => ecdsaRawToDerFast(new Uint8Array(0))).toThrow(TspError);
  });
});
