import { describe, expect, it } from "vitest";
import { TspError } from "../../../src/errors.js";
import { formatPkcs11Uri, parsePkcs11Uri } from "../../../src/pkcs11/uri.js";

const token = {
  label: "demo token",
  manufacturer: "SoftHSM project",
  model: "SoftHSM v2",
  serial: "9bf6c5dca8b9a6e8",
};

describe("formatPkcs11Uri", () => {
  it("prints a token's URI with percent-encoding", () => {
    expect(formatPkcs11Uri(token)).toBe(
      "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=9bf6c5dca8b9a6e8;token=demo%20token",
    );
  });

  it("adds id (always percent-encoded), object and type", () => {
    const uri = formatPkcs11Uri(token, {
      label: "key;1/é",
      id: Uint8Array.from([0x00, 0x01, 0xab]),
      type: "private",
    });
    expect(uri).toMatch(/;id=%00%01%ab;object=key%3b1%2f%c3%a9;type=private$/);
  });

  it("leaves out empty fields", () => {
    expect(formatPkcs11Uri({ ...token, serial: "", label: "" })).toBe(
      "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project",
    );
  });
});

describe("parsePkcs11Uri", () => {
  it("round-trips what formatPkcs11Uri prints", () => {
    const id = Uint8Array.from([0x0a, 0xff]);
    const parsed = parsePkcs11Uri(formatPkcs11Uri(token, { label: "a;b=c", id, type: "cert" }));
    expect(parsed).toMatchObject({
      token: "demo token",
      manufacturer: "SoftHSM project",
      model: "SoftHSM v2",
      serial: "9bf6c5dca8b9a6e8",
      object: "a;b=c",
      type: "cert",
    });
    expect(Buffer.from(parsed.id ?? []).toString("hex")).toBe("0aff");
  });

  it("reads query attributes and slot-id", () => {
    const parsed = parsePkcs11Uri(
      "pkcs11:token=t;slot-id=17;object=k?pin-value=1234&module-path=/usr/lib/x.so",
    );
    expect(parsed).toMatchObject({
      token: "t",
      slotId: 17,
      object: "k",
      pinValue: "1234",
      modulePath: "/usr/lib/x.so",
    });
  });

  it("takes literal id bytes and ignores unknown attributes", () => {
    const parsed = parsePkcs11Uri("pkcs11:id=A;x-vendor=1");
    expect(Buffer.from(parsed.id ?? []).toString("hex")).toBe("41");
  });

  it.each([
    ["token=x", /must start with "pkcs11:"/],
    ["pkcs11:token", /is not name=value/],
    ["pkcs11:id=%zz", /bad percent-encoding/],
    ["pkcs11:slot-id=x", /slot-id must be a decimal/],
    ["pkcs11:type=key", /type must be one of/],
  ])("refuses %s", (input, why) => {
    expect(() => parsePkcs11Uri(input)).toThrow(TspError);
    expect(() => parsePkcs11Uri(input)).toThrow(why);
  });
});
