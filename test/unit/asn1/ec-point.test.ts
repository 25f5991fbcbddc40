import { randomBytes } from "node:crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { describe, expect, it } from "vitest";
import { fromHex } from "../../../src/asn1/bytes.js";
import { octetStringContent, unwrapEcPoint } from "../../../src/asn1/ec-point.js";
import { curve, wrap } from "./ec-fixtures.js";

/** What the schemas make of `bytes`: a DER OCTET STRING's content spanning them all, or not. */
function bySchemas(bytes: Uint8Array): Uint8Array | undefined {
  try {
    const octets = AsnConvert.parse(bytes, OctetString);
    if (AsnConvert.serialize(octets).byteLength !== bytes.byteLength) return undefined;
    return new Uint8Array(octets.buffer);
  } catch {
    return undefined;
  }
}

describe("octetStringContent", () => {
  it("reads the content of short and long forms, as the schemas encode them", () => {
    for (const size of [0, 1, 65, 127, 128, 133, 255, 256, 65535, 65536]) {
      const content = randomBytes(size);
      expect(octetStringContent(wrap(content)), `${size} bytes`).toEqual(new Uint8Array(content));
    }
  });

  it("refuses what is not one DER OCTET STRING spanning the bytes", () => {
    for (const hex of [
      "", // nothing
      "04", // no length
      "0401", // content missing
      "040100ff", // a trailing byte
      "2403040100", // constructed (BER)
      "0480010000", // indefinite length
      "048105" + "00".repeat(5), // long form for a short length
      "04820080" + "00".repeat(128), // a leading zero in the length
      "0c0100", // another tag
      "0485" + "00".repeat(8), // a length of more bytes than there are
    ]) {
      expect(octetStringContent(fromHex(hex)), hex).toBeUndefined();
    }
  });

  it("agrees with the schemas on random and mutated encodings", () => {
    const samples: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(i % 2 ? randomBytes(1 + (i % 40)) : wrap(randomBytes(i % 300)));
      const flipped = 1 + (i % Math.max(1, bytes.length - 1));
      if (i % 3 === 0 && flipped < bytes.length)
        bytes[flipped] = (bytes[flipped] ?? 0) ^ (1 << (i % 8));
      if (i % 5 === 0) bytes[0] = 0x04;
      samples.push(bytes);
    }
    for (const bytes of samples) {
      expect(octetStringContent(bytes), Buffer.from(bytes).toString("hex")).toEqual(
        bySchemas(bytes),
      );
    }
  });
});

describe("unwrapEcPoint", () => {
  const p256 = curve("P-256");
  // A raw point whose second byte (0x3f) happens to read as a plausible OCTET STRING length.
  const ambiguous = new Uint8Array([4, 0x3f, ...new Array<number>(63).fill(7)]);

  it("uses the curve's sizes to tell a raw point from a wrapped one", () => {
    expect(unwrapEcPoint(ambiguous, p256)).toEqual(ambiguous);
    expect(unwrapEcPoint(wrap(ambiguous), p256)).toEqual(ambiguous);
  });

  it("without a curve, unwraps a DER OCTET STRING and leaves anything else alone", () => {
    expect(unwrapEcPoint(wrap(ambiguous))).toEqual(ambiguous);
    const raw = new Uint8Array([4, 1, 2, 3]);
    expect(unwrapEcPoint(raw)).toEqual(raw);
  });

  it("unwraps a P-521 point, whose OCTET STRING has a long-form length", () => {
    const point = new Uint8Array([4, ...randomBytes(132)]);
    expect(unwrapEcPoint(wrap(point), curve("secp521r1"))).toEqual(point);
    expect(() => unwrapEcPoint(wrap(point.subarray(1)), curve("secp521r1"))).toThrow(
      "CKA_EC_POINT is not a valid secp521r1 point (135 bytes)",
    );
  });
});
