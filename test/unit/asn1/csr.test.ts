import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  constants,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
  type SignKeyObjectInput,
} from "node:crypto";
import { buildCsr, parseCsr } from "../../../src/asn1/csr.js";
import { parseDn } from "../../../src/asn1/dn.js";
import { parseSanList } from "../../../src/asn1/san.js";
import { ecdsaRawToDer } from "../../../src/asn1/ecdsa.js";
import { toHex } from "../../../src/asn1/bytes.js";
import { toPem } from "../../../src/asn1/pem.js";
import type { SignatureScheme } from "../../../src/asn1/algorithms.js";
import { TspError } from "../../../src/errors.js";
import { OpensslDir } from "./openssl-oracle.js";

interface Signer {
  name: string;
  scheme: SignatureScheme;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** What the token would return, already converted to the algorithm's encoding. */
  sign: (tbs: Uint8Array) => Uint8Array;
  verify: (tbs: Uint8Array, sig: Uint8Array) => boolean;
  algorithmName: string;
}

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });

function rsaSigner(scheme: Extract<SignatureScheme, { kind: "rsa-pkcs1" | "rsa-pss" }>): Signer {
  const options: Omit<SignKeyObjectInput, "key"> =
    scheme.kind === "rsa-pss"
      ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }
      : {};
  return {
    name: `${scheme.kind} ${scheme.hash}`,
    scheme,
    ...rsa,
    sign: (tbs) => sign(scheme.hash, tbs, { key: rsa.privateKey, ...options }),
    verify: (tbs, sig) => verify(scheme.hash, tbs, { key: rsa.publicKey, ...options }, sig),
    algorithmName: scheme.kind === "rsa-pss" ? "rsassaPss" : `${scheme.hash}WithRSAEncryption`,
  };
}

function ecdsaSigner(namedCurve: string, hash: "sha256" | "sha384" | "sha512"): Signer {
  const pair = generateKeyPairSync("ec", { namedCurve });
  return {
    name: `ecdsa ${namedCurve} ${hash}`,
    scheme: { kind: "ecdsa", hash },
    ...pair,
    // CKM_ECDSA returns r‖s; the caller converts before handing it back, as documented.
    sign: (tbs) =>
      ecdsaRawToDer(sign(hash, tbs, { key: pair.privateKey, dsaEncoding: "ieee-p1363" })),
    verify: (tbs, sig) => verify(hash, tbs, pair.publicKey, sig),
    algorithmName: `ecdsa-with-${hash.toUpperCase()}`,
  };
}

function ed25519Signer(): Signer {
  const pair = generateKeyPairSync("ed25519");
  return {
    name: "ed25519",
    scheme: { kind: "ed25519" },
    ...pair,
    sign: (tbs) => sign(null, tbs, pair.privateKey),
    verify: (tbs, sig) => verify(null, tbs, pair.publicKey, sig),
    algorithmName: "ED25519",
  };
}

const SIGNERS: Signer[] = [
  rsaSigner({ kind: "rsa-pkcs1", hash: "sha256" }),
  rsaSigner({ kind: "rsa-pkcs1", hash: "sha384" }),
  rsaSigner({ kind: "rsa-pkcs1", hash: "sha512" }),
  rsaSigner({ kind: "rsa-pss", hash: "sha256", saltLength: 32 }),
  rsaSigner({ kind: "rsa-pss", hash: "sha512", saltLength: 64 }),
  ecdsaSigner("prime256v1", "sha256"),
  ecdsaSigner("secp384r1", "sha384"),
  ecdsaSigner("secp521r1", "sha512"),
  ed25519Signer(),
];

const SUBJECT = "/C=US/O=Example+OU=Ops/CN=Zoë, \\+ test";
const SUBJECT_RFC4514 = "CN=Zoë\\, \\+ test,O=Example+OU=Ops,C=US";
const SANS = "DNS:x.example,IP:1.2.3.4,IP:2001:db8::1,email:a@b.c,URI:https://u.example/p";

const spkiOf = (key: KeyObject): Uint8Array =>
  new Uint8Array(key.export({ type: "spki", format: "der" }));

let tmp: OpensslDir;
beforeAll(() => {
  tmp = new OpensslDir();
});
afterAll(() => {
  tmp.remove();
});

describe.each(SIGNERS)("buildCsr: $name", (signer) => {
  let der: Uint8Array;
  let file: string;

  beforeAll(async () => {
    der = await buildCsr({
      subject: parseDn(SUBJECT),
      spki: spkiOf(signer.publicKey),
      sans: parseSanList(SANS),
      scheme: signer.scheme,
      sign: signer.sign,
    });
    file = tmp.write(`${signer.name.replaceAll(" ", "-")}.der`, der);
  });

  it("verifies with node over the CertificationRequestInfo", () => {
    const csr = parseCsr(der);
    expect(signer.verify(csr.infoDer, csr.signature)).toBe(true);
    expect(csr.subject).toBe(SUBJECT_RFC4514);
    expect(toHex(csr.spki)).toBe(toHex(spkiOf(signer.publicKey)));
    expect(csr.signatureAlgorithm).toBe(signer.algorithmName);
  });

  it("passes openssl req -verify, with the subject and SANs openssl reads", () => {
    const verified = tmp.run("req", "-verify", "-noout", "-inform", "DER", "-in", file);
    expect(verified.status).toBe(0);
    // The message, not the status, is the verdict (OpenSSL 3.0 exits 0 on failure too).
    expect(verified.stderr + verified.stdout).toContain("self-signature verify OK");
    const subject = tmp.ok(
      "req",
      "-noout",
      "-subject",
      "-nameopt",
      "RFC2253,-esc_msb",
      "-inform",
      "DER",
      "-in",
      file,
    );
    expect(subject.trim()).toBe(`subject=${SUBJECT_RFC4514}`);
    const text = tmp.ok("req", "-noout", "-text", "-inform", "DER", "-in", file);
    expect(text).toContain(
      "DNS:x.example, IP Address:1.2.3.4, IP Address:2001:DB8:0:0:0:0:0:1, email:a@b.c, URI:https://u.example/p",
    );
    expect(text).toContain(`Signature Algorithm: ${signer.algorithmName}`);
  });

  it("is parsed from PEM as well", () => {
    const pem = new TextEncoder().encode(toPem(der, "CERTIFICATE REQUEST"));
    expect(parseCsr(pem).subject).toBe(SUBJECT_RFC4514);
  });
});

describe("buildCsr against openssl's own output", () => {
  // Ed25519 signatures are deterministic, so openssl's CSR for the same key and subject must be
  // identical byte for byte: this pins the structure (version, attributes, algorithm).
  const signer = ed25519Signer();
  let keyFile: string;
  beforeAll(() => {
    keyFile = tmp.write("ed.pem", signer.privateKey.export({ type: "pkcs8", format: "pem" }));
  });

  it("without SANs: empty attributes, same bytes as openssl req", async () => {
    tmp.ok(
      "req",
      "-new",
      "-key",
      keyFile,
      "-utf8",
      "-subj",
      SUBJECT,
      "-outform",
      "DER",
      "-out",
      "o1.der",
    );
    const ours = await buildCsr({
      subject: parseDn(SUBJECT),
      spki: spkiOf(signer.publicKey),
      scheme: signer.scheme,
      sign: signer.sign,
    });
    expect(toHex(ours)).toBe(toHex(tmp.read("o1.der")));
  });

  it("with SANs: an extensionRequest, same bytes as openssl req -addext", async () => {
    tmp.ok(
      "req",
      "-new",
      "-key",
      keyFile,
      "-utf8",
      "-subj",
      SUBJECT,
      "-addext",
      `subjectAltName=${SANS}`,
      "-outform",
      "DER",
      "-out",
      "o2.der",
    );
    const ours = await buildCsr({
      subject: parseDn(SUBJECT_RFC4514),
      spki: spkiOf(signer.publicKey),
      sans: parseSanList(SANS),
      scheme: signer.scheme,
      sign: async (tbs) => Promise.resolve(signer.sign(tbs)),
    });
    expect(toHex(ours)).toBe(toHex(tmp.read("o2.der")));
  });
});

describe("openssl notices a bad signature (the oracle can fail)", () => {
  it("rejects a CSR whose signature was altered", async () => {
    const signer = SIGNERS[0];
    if (!signer) throw new Error("no signer");
    const der = await buildCsr({
      subject: parseDn("CN=x"),
      spki: spkiOf(signer.publicKey),
      scheme: signer.scheme,
      sign: (tbs) => {
        const sig = signer.sign(tbs);
        sig[10] = (sig[10] ?? 0) ^ 1;
        return sig;
      },
    });
    const file = tmp.write("bad.der", der);
    // OpenSSL 3.0's req -verify exits 0 even on failure: only its message tells.
    const r = tmp.run("req", "-verify", "-noout", "-inform", "DER", "-in", file);
    expect(r.stderr + r.stdout).toContain("verify failure");
    expect(r.stderr + r.stdout).not.toContain("verify OK");
  });
});

describe("buildCsr input errors", () => {
  it("refuses an SPKI that does not parse, before signing", async () => {
    let signed = false;
    const attempt = buildCsr({
      subject: parseDn("CN=x"),
      spki: new Uint8Array([0x30, 0x03, 0x02, 0x01]),
      scheme: { kind: "ed25519" },
      sign: (tbs) => {
        signed = true;
        return tbs;
      },
    });
    await expect(attempt).rejects.toThrow("not a DER SubjectPublicKeyInfo");
    await expect(attempt).rejects.toBeInstanceOf(TspError);
    expect(signed).toBe(false);
  });
});

describe("parseCsr errors", () => {
  it.each([
    ["garbage", new Uint8Array([1, 2, 3, 4])],
    ["a public key", spkiOf(rsa.publicKey)],
    [
      "a PEM with another label",
      new TextEncoder().encode(toPem(spkiOf(rsa.publicKey), "PUBLIC KEY")),
    ],
  ])("%s -> usage error", (_name, input) => {
    expect(() => parseCsr(input)).toThrow(TspError);
  });
});
