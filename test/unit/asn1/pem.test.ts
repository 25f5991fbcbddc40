import { describe, it, expect } from "vitest";
import { decodeAllPemOrDer, decodePemOrDer, toPem } from "../../../src/asn1/pem.js";
import { TspError } from "../../../src/errors.js";

const CERT_LABELS = ["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"];
const bytes = (n: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TspError);
    expect((e as TspError).kind).toBe("usage");
    return (e as TspError).message;
  }
  throw new Error("expected a TspError");
}

describe("toPem", () => {
  it("writes 64-character lines and a trailing newline", () => {
    const der = bytes(100); // 136 base64 characters: lines of 64, 64 and 8
    const b64 = Buffer.from(der).toString("base64");
    expect(toPem(der, "CERTIFICATE")).toBe(
      "-----BEGIN CERTIFICATE-----\n" +
        `${b64.slice(0, 64)}\n${b64.slice(64, 128)}\n${b64.slice(128)}\n` +
        "-----END CERTIFICATE-----\n",
    );
    expect(b64.slice(128)).toHaveLength(8);
  });
});

describe("decodePemOrDer", () => {
  it("round-trips toPem and reports the label", () => {
    const der = bytes(300);
    expect(decodePemOrDer(text(toPem(der, "X509 CERTIFICATE")), CERT_LABELS)).toEqual({
      der,
      label: "X509 CERTIFICATE",
    });
  });

  it("passes DER through untouched", () => {
    const der = bytes(50);
    expect(decodePemOrDer(der, CERT_LABELS)).toEqual({ der });
  });

  it("accepts CRLF, surrounding text and picks the block with a wanted label", () => {
    const der = bytes(70);
    const input =
      "Bag Attributes\r\n" +
      toPem(bytes(10), "PRIVATE KEY").replaceAll("\n", "\r\n") +
      toPem(der, "CERTIFICATE").replaceAll("\n", "\r\n");
    expect(decodePemOrDer(text(input), CERT_LABELS).der).toEqual(der);
  });

  it("refuses a PEM with another label, naming what it found", () => {
    expect(
      usageMessage(() => decodePemOrDer(text(toPem(bytes(5), "PUBLIC KEY")), CERT_LABELS)),
    ).toBe("not a PEM CERTIFICATE or DER input: found PEM PUBLIC KEY");
  });

  it("refuses bad base64", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nAAA*AAAA\n-----END CERTIFICATE-----\n";
    expect(usageMessage(() => decodePemOrDer(text(pem), CERT_LABELS))).toBe(
      'not a PEM CERTIFICATE or DER input: bad base64 in the PEM body: the character "*" is not base64',
    );
  });

  it("refuses non-canonical base64: bad padding, padding bits, truncation, '=' inside", () => {
    const pem = (body: string) =>
      text(`-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`);
    // "QR==" decodes to the same byte as "QQ==" but with non-zero spare bits.
    expect(usageMessage(() => decodePemOrDer(pem("QR=="), CERT_LABELS))).toContain(
      "non-zero padding bits",
    );
    expect(usageMessage(() => decodePemOrDer(pem("QQ="), CERT_LABELS))).toContain("truncated");
    expect(usageMessage(() => decodePemOrDer(pem("QQ==QQ=="), CERT_LABELS))).toContain(
      "'=' padding before the end",
    );
    expect(decodePemOrDer(pem("QQ=="), CERT_LABELS).der).toEqual(Uint8Array.of(0x41));
  });

  it("refuses a stray or unterminated block after a good one", () => {
    const good = toPem(bytes(30), "CERTIFICATE");
    const cut = `${good}-----BEGIN CERTIFICATE-----\nAAAA\n`;
    expect(usageMessage(() => decodePemOrDer(text(cut), CERT_LABELS))).toMatch(
      /malformed PEM: .*BEGIN CERTIFICATE.* has no matching END line/,
    );
    const nested = `-----BEGIN CERTIFICATE-----\nAAAA\n${good}`;
    expect(usageMessage(() => decodePemOrDer(text(nested), CERT_LABELS))).toContain(
      "a block CERTIFICATE has no END line",
    );
    const badSecond = `${good}${toPem(bytes(30), "CERTIFICATE").replace("\n", "\n*")}`;
    expect(usageMessage(() => decodePemOrDer(text(badSecond), CERT_LABELS))).toContain(
      "bad base64",
    );
  });

  it("decodeAllPemOrDer returns every block of a wanted label, in order", () => {
    const [a, b] = [bytes(20), bytes(40)];
    const input = text(
      toPem(a, "CERTIFICATE") + toPem(bytes(5), "PRIVATE KEY") + toPem(b, "CERTIFICATE"),
    );
    expect(decodeAllPemOrDer(input, CERT_LABELS).map((block) => block.der)).toEqual([a, b]);
  });

  it("refuses PEM headers (an encrypted PEM)", () => {
    const pem =
      "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nQQ==\n-----END CERTIFICATE-----\n";
    expect(usageMessage(() => decodePemOrDer(text(pem), CERT_LABELS))).toContain("PEM headers");
  });

  it("refuses an empty PEM body and a PEM without END", () => {
    const empty = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
    expect(usageMessage(() => decodePemOrDer(text(empty), CERT_LABELS))).toContain(
      "the PEM body is empty",
    );
    const cut = "-----BEGIN CERTIFICATE-----\nAAAA\n";
    expect(usageMessage(() => decodePemOrDer(text(cut), CERT_LABELS))).toBe(
      'not a PEM CERTIFICATE or DER input: malformed PEM: "-----BEGIN CERTIFICATE-----" has no matching END line',
    );
  });

  it("refuses empty input", () => {
    expect(usageMessage(() => decodePemOrDer(new Uint8Array(0), ["PUBLIC KEY"]))).toBe(
      "not a PEM PUBLIC KEY or DER input: the input is empty",
    );
  });
});
