import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, Certificate, SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import { RSAPublicKey } from "@peculiar/asn1-rsa";
import {
  parseCertificate,
  parseCertificates,
  parsePublicKeyInput,
} from "../../../src/asn1/cert.js";
import { certificateLabel, sanitizeLabel } from "../../../src/asn1/cert-label.js";
import { parseCsr } from "../../../src/asn1/csr.js";
import { ecPointProblem } from "../../../src/asn1/ec-point.js";
import { toPem } from "../../../src/asn1/pem.js";
import { parsePublicKey } from "../../../src/asn1/spki.js";
import { TspError } from "../../../src/errors.js";
import { OpensslDir } from "./openssl-oracle.js";
import { certFor, csrFor, SPKIS, spkiOf, systemCertificates } from "./strict-fixtures.js";

let tmp: OpensslDir;
beforeAll(() => {
  tmp = new OpensslDir();
});
afterAll(() => {
  tmp.remove();
});

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

const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** The same structure with its outer length in a non-minimal long form (BER, not DER). */
function longFormOuterLength(der: Uint8Array): Uint8Array {
  expect(der[0]).toBe(0x30);
  if (der[1] === 0x81) return concat(Uint8Array.of(0x30, 0x82, 0x00), der.subarray(2));
  expect(der[1]).toBe(0x82);
  return concat(Uint8Array.of(0x30, 0x83, 0x00), der.subarray(2));
}

function offCurve(spki: Uint8Array): Uint8Array {
  const copy = spki.slice();
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1;
  return copy;
}

function rsaSpki(modulus: number[], exponent: number[]): Uint8Array {
  const key = new RSAPublicKey({
    modulus: Uint8Array.from(modulus).buffer,
    publicExponent: Uint8Array.from(exponent).buffer,
  });
  const spki = new SubjectPublicKeyInfo({
    algorithm: new AlgorithmIdentifier({ algorithm: "1.2.840.113549.1.1.1", parameters: null }),
    subjectPublicKey: AsnConvert.serialize(key),
  });
  return new Uint8Array(AsnConvert.serialize(spki));
}

describe("certificates: strict DER", () => {
  it("refuses a BER length that the schema parser accepts", async () => {
    const ber = longFormOuterLength(await certFor("CN=strict"));
    expect(() => AsnConvert.parse(ber, Certificate)).not.toThrow();
    expect(usageMessage(() => parseCertificate(ber))).toMatch(/not DER .*re-encode/);
  });

  it("refuses trailing bytes after a DER or inside a PEM certificate", async () => {
    const der = await certFor("CN=trailing");
    const extra = concat(der, Uint8Array.of(0));
    expect(usageMessage(() => parseCertificate(extra))).toContain("1 trailing byte after");
    expect(
      usageMessage(() => parseCertificate(Buffer.from(toPem(extra, "CERTIFICATE")))),
    ).toContain("trailing byte");
  });

  it("refuses a certificate whose EC key is off its curve", async () => {
    const der = await certFor("CN=off", offCurve(SPKIS.p256));
    expect(usageMessage(() => parseCertificate(der))).toContain("not on prime256v1");
    // Listing what a token holds stays lenient.
    expect(parseCertificate(der, { lenient: true }).subject).toBe("CN=off");
  });

  it("reads every certificate of a PEM chain, naming the one that fails", async () => {
    const [a, b] = [await certFor("CN=a"), await certFor("CN=b")];
    const chain = Buffer.from(toPem(a, "CERTIFICATE") + toPem(b, "CERTIFICATE"));
    expect(parseCertificates(chain).map((c) => c.subject)).toEqual(["CN=a", "CN=b"]);
    expect(parseCertificate(chain).subject).toBe("CN=a");
    const bad = Buffer.from(
      toPem(a, "CERTIFICATE") + toPem(concat(b, Uint8Array.of(5)), "CERTIFICATE"),
    );
    expect(usageMessage(() => parseCertificates(bad))).toMatch(/^certificate 2 of 2: .*trailing/);
  });
});

describe("public keys: on the curve, sane RSA", () => {
  it.each(["p256", "p384", "p521"] as const)(
    "refuses an off-curve %s point, as OpenSSL does",
    (curve) => {
      const bad = offCurve(SPKIS[curve]);
      expect(() =>
        createPublicKey({ key: Buffer.from(bad), format: "der", type: "spki" }),
      ).toThrow();
      expect(usageMessage(() => parsePublicKeyInput(bad))).toMatch(
        /not a valid EC public key: the point is not on/,
      );
      expect(parsePublicKeyInput(SPKIS[curve]).keyType).toBe("ec");
    },
  );

  it("agrees with the curve equation on many generated points, uncompressed and compressed", () => {
    for (const [name, nodeName] of [
      ["prime256v1", "P-256"],
      ["secp384r1", "P-384"],
      ["secp521r1", "P-521"],
    ] as const) {
      for (let i = 0; i < 20; i++) {
        const jwk = generateKeyPairSync("ec", { namedCurve: nodeName }).publicKey.export({
          format: "jwk",
        });
        const x = Buffer.from(jwk.x ?? "", "base64url");
        const y = Buffer.from(jwk.y ?? "", "base64url");
        expect(ecPointProblem(name, concat(Uint8Array.of(4), x, y))).toBeUndefined();
        const prefix = 2 + ((y[y.length - 1] ?? 0) & 1);
        expect(ecPointProblem(name, concat(Uint8Array.of(prefix), x))).toBeUndefined();
        const yBad = Buffer.from(y);
        yBad[0] = (yBad[0] ?? 0) ^ 0x01;
        expect(ecPointProblem(name, concat(Uint8Array.of(4), x, yBad))).toMatch(/not on|not below/);
      }
    }
  });

  it("refuses an Edwards key of the wrong size", () => {
    const short = new Uint8Array(
      AsnConvert.serialize(
        new SubjectPublicKeyInfo({
          algorithm: new AlgorithmIdentifier({ algorithm: "1.3.101.112" }),
          subjectPublicKey: new Uint8Array(31).buffer,
        }),
      ),
    );
    expect(usageMessage(() => parsePublicKey(short))).toContain("ed25519");
  });

  const odd = [0x00, 0xc1, ...Array.from({ length: 126 }, (_, i) => i), 0x01];
  it.each([
    ["the modulus is even", rsaSpki([...odd.slice(0, -1), 0x02], [1, 0, 1])],
    ["the modulus is negative", rsaSpki([0x81, ...odd.slice(2)], [1, 0, 1])],
    ["has 0 bits", rsaSpki([0], [1, 0, 1])],
    ["has 504 bits", rsaSpki([0x00, 0xc1, ...Array.from({ length: 62 }, () => 7)], [1, 0, 1])],
    ["odd number of at least 3", rsaSpki(odd, [1])],
    ["odd number of at least 3", rsaSpki(odd, [1, 0, 0])],
    ["the public exponent is negative", rsaSpki(odd, [0x81])],
  ])("refuses an RSA key where %s", (why, spki) => {
    expect(usageMessage(() => parsePublicKeyInput(spki))).toContain(why);
  });

  it("accepts a real RSA key and refuses a PKCS#1 key with a negative modulus", () => {
    expect(parsePublicKeyInput(SPKIS.rsa).bits).toBe(1024);
    const pkcs1 = new RSAPublicKey({
      modulus: Uint8Array.from([0x81, 2, 3]).buffer,
      publicExponent: Uint8Array.of(3).buffer,
    });
    const pem = toPem(new Uint8Array(AsnConvert.serialize(pkcs1)), "RSA PUBLIC KEY");
    expect(usageMessage(() => parsePublicKeyInput(Buffer.from(pem)))).toContain("negative");
  });

  it("refuses an SPKI with trailing bytes", () => {
    expect(usageMessage(() => parsePublicKeyInput(concat(SPKIS.p256, Uint8Array.of(0))))).toContain(
      "trailing byte",
    );
  });
});

describe("requests", () => {
  it("refuses a CSR whose key is off its curve, with a usage error (not a decode crash)", async () => {
    const { buildCsr } = await import("../../../src/asn1/csr.js");
    const { parseDn } = await import("../../../src/asn1/dn.js");
    const csr = await buildCsr({
      subject: parseDn("CN=x"),
      spki: offCurve(SPKIS.p256),
      scheme: { kind: "ecdsa", hash: "sha256" },
      sign: () => new Uint8Array(8),
    });
    expect(usageMessage(() => parseCsr(csr))).toContain("not on prime256v1");
  });

  it("refuses a CSR with a BER length or trailing bytes", async () => {
    const csr = await csrFor("CN=req");
    expect(parseCsr(csr).subject).toBe("CN=req");
    expect(usageMessage(() => parseCsr(concat(csr, Uint8Array.of(0))))).toContain("trailing");
    const ber = csr[1] === 0x81 ? concat(Uint8Array.of(0x30, 0x82, 0x00), csr.subarray(2)) : csr;
    expect(usageMessage(() => parseCsr(ber))).toContain("not DER");
  });
});

describe("certificate labels", () => {
  const label = async (subject: string): Promise<string> => {
    const cert = parseCertificate(
      await certFor(subject, spkiOf(generateKeyPairSync("ed25519").publicKey), "0abc"),
    );
    return certificateLabel(cert.subjectName, cert.serialHex);
  };

  it("takes the most specific CN, else OU, else O, else the whole subject", async () => {
    expect(await label("CN=leaf,OU=unit,O=org,C=US")).toBe("leaf");
    expect(
      await label("OU=Go Daddy Class 2 Certification Authority,O=The Go Daddy Group\\, Inc.,C=US"),
    ).toBe("Go Daddy Class 2 Certification Authority");
    expect(await label("O=org,C=US")).toBe("org");
    expect(await label("C=US,L=Paris")).toBe("C=US,L=Paris");
  });

  it("labels a certificate with an empty subject by its serial", async () => {
    const { Name } = await import("@peculiar/asn1-x509");
    const cert = parseCertificate(await certFor(new Name(), SPKIS.ed25519, "0abc"));
    expect(certificateLabel(cert.subjectName, cert.serialHex)).toBe("certificate 0abc");
  });

  it("never copies a control character raw: NUL and others become U+FFFD", async () => {
    expect(await label("CN=evil\\00.example.com")).toBe("evil\uFFFD.example.com");
    expect(sanitizeLabel("a\u0007b\u007fc\u0085d é")).toBe("a\uFFFDb\uFFFDc\uFFFDd é");
  });

  // The schema parser takes about 10 ms a certificate: a generous timeout for a busy machine.
  it(
    "accepts every system CA certificate and gives each a clean non-empty label",
    { timeout: 120_000 },
    () => {
      for (const der of systemCertificates()) {
        const cert = parseCertificate(der);
        expect(cert.der).toEqual(der);
        const text = certificateLabel(cert.subjectName, cert.serialHex);
        expect(text).not.toBe("");
        // eslint-disable-next-line no-control-regex
        expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      }
    },
  );
});
