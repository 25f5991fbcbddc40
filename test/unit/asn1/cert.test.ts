import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { constants, createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  buildCertificate,
  parseCertificate,
  parsePublicKeyInput,
  type ParsedCertificate,
} from "../../../src/asn1/cert.js";
import {
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  keyUsageExtension,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
  subjectPublicKeyBytes,
} from "../../../src/asn1/extensions.js";
import { nameToDer, parseDn } from "../../../src/asn1/dn.js";
import { parseSanList } from "../../../src/asn1/san.js";
import { ecdsaRawToDer } from "../../../src/asn1/ecdsa.js";
import { decodePemOrDer, toPem } from "../../../src/asn1/pem.js";
import { fromHex, toHex } from "../../../src/asn1/bytes.js";
import type { SignatureScheme } from "../../../src/asn1/algorithms.js";
import { TspError } from "../../../src/errors.js";
import { OpensslDir } from "./openssl-oracle.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const spkiOf = (key: KeyObject): Uint8Array =>
  new Uint8Array(key.export({ type: "spki", format: "der" }));

let tmp: OpensslDir;
beforeAll(() => {
  tmp = new OpensslDir();
});
afterAll(() => {
  tmp.remove();
});

/** One line of `openssl x509 -noout ...` output, without its "name=" prefix. */
function field(output: string, name: string): string {
  const line = output.split("\n").find((l) => l.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`no ${name} in ${output}`);
  return line.slice(name.length + 1);
}

describe("parseCertificate on a certificate made by openssl req -x509", () => {
  let pem: Uint8Array;
  let der: Uint8Array;
  let oracle: string;

  beforeAll(() => {
    tmp.ok(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      "k.pem",
      "-out",
      "c.pem",
      "-utf8",
      "-subj",
      "/C=US/O=Example/CN=Zoë",
      "-days",
      "30",
      "-set_serial",
      "0x80abcdef",
    );
    tmp.ok("x509", "-in", "c.pem", "-outform", "DER", "-out", "c.der");
    pem = tmp.read("c.pem");
    der = tmp.read("c.der");
    oracle = tmp.ok(
      "x509",
      "-in",
      "c.pem",
      "-noout",
      "-serial",
      "-startdate",
      "-enddate",
      "-subject",
      "-issuer",
      "-nameopt",
      "RFC2253,-esc_msb",
    );
  });

  const check = (cert: ParsedCertificate): void => {
    expect(toHex(cert.der)).toBe(toHex(der));
    expect(cert.subject).toBe("CN=Zoë,O=Example,C=US");
    expect(cert.subject).toBe(field(oracle, "subject"));
    expect(cert.issuer).toBe(field(oracle, "issuer"));
    expect(toHex(cert.subjectDer)).toBe(toHex(nameToDer(parseDn("/C=US/O=Example/CN=Zoë"))));
    expect(toHex(cert.issuerDer)).toBe(toHex(cert.subjectDer));
    // The high bit of 0x80abcdef is set, so the INTEGER carries a 00 (openssl -serial omits it).
    expect(field(oracle, "serial")).toBe("80ABCDEF");
    expect(cert.serialHex).toBe("80abcdef");
    expect(toHex(cert.serialDer)).toBe("02050080abcdef");
    expect(cert.notBefore.toISOString()).toBe(new Date(field(oracle, "notBefore")).toISOString());
    expect(cert.notAfter.toISOString()).toBe(new Date(field(oracle, "notAfter")).toISOString());
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(30 * 86_400_000);
    const pubkey = decodePemOrDer(enc(tmp.ok("x509", "-in", "c.pem", "-noout", "-pubkey")), [
      "PUBLIC KEY",
    ]);
    expect(toHex(cert.spki)).toBe(toHex(pubkey.der));
    expect(cert.signatureAlgorithm).toBe("ecdsa-with-SHA256");
  };

  it("reads PEM", () => {
    check(parseCertificate(pem));
  });

  it("reads DER", () => {
    check(parseCertificate(der));
  });

  it("reads X509 CERTIFICATE and TRUSTED CERTIFICATE PEM, dropping OpenSSL's trust data", () => {
    check(parseCertificate(enc(toPem(der, "X509 CERTIFICATE"))));
    tmp.ok("x509", "-in", "c.pem", "-trustout", "-addtrust", "serverAuth", "-out", "t.pem");
    const trusted = tmp.read("t.pem");
    expect(new TextDecoder().decode(trusted)).toContain("BEGIN TRUSTED CERTIFICATE");
    check(parseCertificate(trusted));
  });

  it.each([
    ["1", "01", "020101"],
    ["0x7f", "7f", "02017f"],
    ["0x0100", "0100", "02020100"],
  ])("serial %s -> %s", (serial, hex, derHex) => {
    tmp.ok(
      "req",
      "-x509",
      "-key",
      "k.pem",
      "-subj",
      "/CN=s",
      "-days",
      "1",
      "-set_serial",
      serial,
      "-outform",
      "DER",
      "-out",
      "s.der",
    );
    const cert = parseCertificate(tmp.read("s.der"));
    expect(cert.serialHex).toBe(hex);
    expect(toHex(cert.serialDer)).toBe(derHex);
  });

  describe("refuses what is not a certificate (usage, one line)", () => {
    const cases: [string, () => Uint8Array][] = [
      ["garbage", () => enc("hello, world")],
      ["empty input", () => new Uint8Array(0)],
      ["truncated DER", () => der.subarray(0, der.length - 10)],
      ["DER with trailing junk", () => new Uint8Array([...der, 0x05, 0x00])],
      [
        "bad base64 PEM",
        () => enc("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
      ],
      [
        "a CSR (DER)",
        () => {
          tmp.ok(
            "req",
            "-new",
            "-key",
            "k.pem",
            "-subj",
            "/CN=r",
            "-outform",
            "DER",
            "-out",
            "r.der",
          );
          return tmp.read("r.der");
        },
      ],
      [
        "a CSR (PEM)",
        () => {
          tmp.ok("req", "-new", "-key", "k.pem", "-subj", "/CN=r", "-out", "r.pem");
          return tmp.read("r.pem");
        },
      ],
      [
        "a public key (DER)",
        () =>
          decodePemOrDer(enc(tmp.ok("x509", "-in", "c.pem", "-noout", "-pubkey")), ["PUBLIC KEY"])
            .der,
      ],
      ["a private key (PEM)", () => tmp.read("k.pem")],
    ];

    it.each(cases)("%s", (_name, input) => {
      let caught: unknown;
      try {
        parseCertificate(input());
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(TspError);
      expect((caught as TspError).kind).toBe("usage");
      expect((caught as TspError).message).toMatch(
        /^not a PEM (or DER X\.509 certificate|CERTIFICATE or DER input)/,
      );
      expect((caught as TspError).message).not.toContain("\n");
    });
  });
});

describe("parsePublicKeyInput", () => {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const spki = spkiOf(publicKey);

  it.each([
    ["PEM PUBLIC KEY", () => enc(publicKey.export({ type: "spki", format: "pem" }).toString())],
    ["DER SPKI", () => spki],
    [
      "PKCS#1 RSA PUBLIC KEY",
      () => enc(publicKey.export({ type: "pkcs1", format: "pem" }).toString()),
    ],
  ])("%s", (_name, input) => {
    const parsed = parsePublicKeyInput(input());
    expect(toHex(parsed.der)).toBe(toHex(spki));
    expect(parsed.keyType).toBe("rsa");
    expect(parsed.bits).toBe(1024);
  });

  it("refuses a certificate and garbage", () => {
    const cert = enc(toPem(new Uint8Array([0x30, 0]), "CERTIFICATE"));
    expect(() => parsePublicKeyInput(cert)).toThrow(
      "not a PEM PUBLIC KEY or DER input: found PEM CERTIFICATE",
    );
    expect(() => parsePublicKeyInput(fromHex("0102"))).toThrow(TspError);
  });
});

describe("extensions", () => {
  const hex = (v: unknown): string => toHex(new Uint8Array(AsnConvert.serialize(v)));

  it("encode as the usual DER", () => {
    // keyUsage critical digitalSignature|keyCertSign|cRLSign: BIT STRING 1 unused bit, 0x86.
    expect(hex(keyUsageExtension(["digitalSignature", "keyCertSign", "cRLSign"]))).toBe(
      "300e0603551d0f0101ff040403020186",
    );
    expect(hex(basicConstraintsExtension(true))).toBe("300f0603551d130101ff040530030101ff");
    expect(hex(basicConstraintsExtension(true, 0))).toBe(
      "30120603551d130101ff040830060101ff020100",
    );
    // cA FALSE is the DEFAULT, so DER leaves it out.
    expect(hex(basicConstraintsExtension(false))).toBe("300c0603551d130101ff04023000");
    expect(hex(subjectKeyIdentifierExtension(fromHex("0102")))).toBe("300b0603551d0e040404020102");
  });
});

describe("buildCertificate (self-signed), checked by openssl verify", () => {
  interface Case {
    name: string;
    scheme: SignatureScheme;
    pair: { privateKey: KeyObject; publicKey: KeyObject };
    sign: (tbs: Uint8Array, key: KeyObject) => Uint8Array;
  }
  const CASES: Case[] = [
    {
      name: "ecdsa P-256",
      scheme: { kind: "ecdsa", hash: "sha256" },
      pair: generateKeyPairSync("ec", { namedCurve: "prime256v1" }),
      sign: (tbs, key) => ecdsaRawToDer(sign("sha256", tbs, { key, dsaEncoding: "ieee-p1363" })),
    },
    {
      name: "rsa-pss sha384",
      scheme: { kind: "rsa-pss", hash: "sha384", saltLength: 48 },
      pair: generateKeyPairSync("rsa", { modulusLength: 2048 }),
      sign: (tbs, key) =>
        sign("sha384", tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }),
    },
    {
      name: "ed25519",
      scheme: { kind: "ed25519" },
      pair: generateKeyPairSync("ed25519"),
      sign: (tbs, key) => sign(null, tbs, key),
    },
  ];

  it.each(CASES)("$name", async ({ name, scheme, pair, sign: signWith }) => {
    const spki = spkiOf(pair.publicKey);
    const keyId = createHash("sha1").update(subjectPublicKeyBytes(spki)).digest();
    const subject = parseDn("CN=tsp11 test CA,O=Example,C=US");
    const notBefore = new Date("2026-01-01T00:00:00Z");
    const notAfter = new Date("2051-01-01T00:00:00Z"); // after 2049: GeneralizedTime
    const der = await buildCertificate({
      subject,
      issuer: subject,
      serial: fromHex("8000000000000001"),
      notBefore,
      notAfter,
      spki,
      extensions: [
        basicConstraintsExtension(true),
        keyUsageExtension(["digitalSignature", "keyCertSign", "cRLSign"]),
        subjectKeyIdentifierExtension(keyId),
        authorityKeyIdentifierExtension(keyId),
        subjectAltNameExtension(parseSanList("DNS:ca.example")),
      ],
      scheme,
      sign: (tbs) => signWith(tbs, pair.privateKey),
    });
    const file = tmp.write(`${name.replaceAll(" ", "-")}.pem`, toPem(der, "CERTIFICATE"));

    // -check_ss_sig: openssl verify skips a self-signed trust anchor's signature otherwise.
    const verified = tmp.run(
      "verify",
      "-check_ss_sig",
      "-attime",
      "1800000000",
      "-CAfile",
      file,
      file,
    );
    expect(verified.stderr).toBe("");
    expect(verified.stdout.trim()).toBe(`${file}: OK`);

    const text = tmp.ok("x509", "-in", file, "-noout", "-text");
    expect(text).toContain("CA:TRUE");
    expect(text).toContain("Digital Signature, Certificate Sign, CRL Sign");
    expect(text).toContain("DNS:ca.example");
    expect(text).toContain(keyId.toString("hex").toUpperCase().match(/../g)?.join(":"));
    expect(text).toContain("Not After : Jan  1 00:00:00 2051 GMT");

    const parsed = parseCertificate(der);
    expect(parsed.subject).toBe("CN=tsp11 test CA,O=Example,C=US");
    expect(parsed.issuer).toBe(parsed.subject);
    expect(parsed.serialHex).toBe("8000000000000001");
    expect(parsed.notBefore.toISOString()).toBe(notBefore.toISOString());
    expect(parsed.notAfter.toISOString()).toBe(notAfter.toISOString());
    expect(toHex(parsed.spki)).toBe(toHex(spki));
  });

  it("openssl verify notices a bad signature", async () => {
    const pair = generateKeyPairSync("ed25519");
    const subject = parseDn("/CN=bad");
    const der = await buildCertificate({
      subject,
      issuer: subject,
      serial: fromHex("01"),
      notBefore: new Date("2026-01-01T00:00:00Z"),
      notAfter: new Date("2030-01-01T00:00:00Z"),
      spki: spkiOf(pair.publicKey),
      scheme: { kind: "ed25519" },
      sign: (tbs) => {
        const sig = sign(null, tbs, pair.privateKey);
        sig[0] = (sig[0] ?? 0) ^ 1;
        return sig;
      },
    });
    const file = tmp.write("bad.pem", toPem(der, "CERTIFICATE"));
    expect(
      tmp.run("verify", "-check_ss_sig", "-attime", "1800000000", "-CAfile", file, file).status,
    ).not.toBe(0);
  });
});
