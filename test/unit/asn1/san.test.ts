import { describe, it, expect } from "vitest";
import { AsnConvert } from "@peculiar/asn1-schema";
import { GeneralName, SubjectAlternativeName } from "@peculiar/asn1-x509";
import { parseIpAddress, parseSanList } from "../../../src/asn1/san.js";
import { toHex } from "../../../src/asn1/bytes.js";
import { TspError } from "../../../src/errors.js";

const sanHex = (names: GeneralName[]): string =>
  toHex(new Uint8Array(AsnConvert.serialize(new SubjectAlternativeName(names))));

describe("parseSanList", () => {
  it("encodes like openssl's subjectAltName", () => {
    // extnValue cut from `openssl req -new -key k.pem -subj /CN=x -addext
    // 'subjectAltName=DNS:x.example,IP:1.2.3.4,IP:2001:db8::1,email:a@b.c,URI:https://u.example/p'`
    const golden =
      "303f8209782e6578616d706c65870401020304871020010db800000000000000000000000181056140622e63861368747470733a2f2f752e6578616d706c652f70";
    const list = "DNS:x.example,IP:1.2.3.4,IP:2001:db8::1,email:a@b.c,URI:https://u.example/p";
    expect(sanHex(parseSanList(list))).toBe(golden);
    expect(sanHex(parseSanList(list.split(",")))).toBe(golden);
    expect(
      sanHex(
        parseSanList(
          " dns:x.example , ip:1.2.3.4,Ip:2001:DB8::1,EMAIL:a@b.c,uri:https://u.example/p",
        ),
      ),
    ).toBe(golden);
  });

  it("keeps a comma inside an array entry", () => {
    const [uri] = parseSanList(["URI:https://x.example/a,b"]);
    expect(uri?.uniformResourceIdentifier).toBe("https://x.example/a,b");
  });

  it.each([
    ["DNS:", "empty value"],
    ["foo:x", "expected DNS:, IP:, email: or URI:"],
    ["nocolon", "expected DNS:, IP:, email: or URI:"],
    ["IP:1.2.3", "not an IPv4 or IPv6 address"],
    ["IP:256.1.1.1", "not an IPv4 or IPv6 address"],
    ["IP:1:2:3", "not an IPv4 or IPv6 address"],
    ["IP:1::2::3", "not an IPv4 or IPv6 address"],
    ["IP:1:2:3:4:5:6:7:8:9", "not an IPv4 or IPv6 address"],
    ["IP:1:2:3:4::5:6:7:8", "not an IPv4 or IPv6 address"],
    ["IP:example.com", "not an IPv4 or IPv6 address"],
    ["DNS:zoë.example", "must be printable ASCII (IA5String)"],
    ["email:a b@c", "must be printable ASCII (IA5String)"],
  ])("%s -> %s", (entry, why) => {
    let caught: unknown;
    try {
      parseSanList(`DNS:ok.example,${entry}`);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TspError);
    expect((caught as TspError).kind).toBe("usage");
    expect((caught as TspError).message).toBe(`invalid subjectAltName entry '${entry}': ${why}`);
  });

  it("refuses an empty list", () => {
    expect(() => parseSanList("")).toThrow(TspError);
    expect(() => parseSanList([])).toThrow(TspError);
  });
});

describe("parseIpAddress", () => {
  it.each([
    ["1.2.3.4", "01020304"],
    ["0.0.0.0", "00000000"],
    ["255.255.255.255", "ffffffff"],
    ["::", "00000000000000000000000000000000"],
    ["::1", "00000000000000000000000000000001"],
    ["2001:db8::", "20010db8000000000000000000000000"],
    ["fe80::1:2", "fe800000000000000000000000010002"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["::ffff:192.0.2.1", "00000000000000000000ffffc0000201"],
    ["1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304"],
  ])("%s", (text, hex) => {
    expect(Buffer.from(parseIpAddress(text) ?? []).toString("hex")).toBe(hex);
  });

  it("encodes through the schema as exactly those bytes", () => {
    const [ip] = parseSanList("IP:::ffff:192.0.2.1");
    expect(sanHex(ip ? [ip] : [])).toBe("3012871000000000000000000000ffffc0000201");
  });

  it.each(["01.2.3.4", "1.2.3.4.5", "::1::", ":1", "1:", "12345::", "::g"])(
    "rejects %s",
    (text) => {
      expect(parseIpAddress(text)).toBeUndefined();
    },
  );
});
