/**
 * Valid inputs for the strict-parsing and fuzz tests: certificates, CSRs and SPKIs made with
 * node keys (Ed25519 signatures: deterministic and fast), and the system CA certificates.
 */
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { Name } from "@peculiar/asn1-x509";
import { buildCertificate } from "../../../src/asn1/cert.js";
import { buildCsr } from "../../../src/asn1/csr.js";
import { parseDn } from "../../../src/asn1/dn.js";
import { fromHex } from "../../../src/asn1/bytes.js";

export const spkiOf = (key: KeyObject): Uint8Array =>
  new Uint8Array(key.export({ type: "spki", format: "der" }));

const signer = generateKeyPairSync("ed25519");

/** A certificate for `spki`, subject `subject` (RFC 4514 or OpenSSL form, or a Name). */
export async function certFor(
  subject: string | Name,
  spki: Uint8Array = spkiOf(signer.publicKey),
  serial = "1234",
): Promise<Uint8Array> {
  const name = typeof subject === "string" ? parseDn(subject) : subject;
  return buildCertificate({
    subject: name,
    issuer: name,
    serial: fromHex(serial),
    notBefore: new Date("2026-01-01T00:00:00Z"),
    notAfter: new Date("2030-01-01T00:00:00Z"),
    spki,
    scheme: { kind: "ed25519" },
    sign: (tbs) => sign(null, tbs, signer.privateKey),
  });
}

/** A CSR self-signed by a fresh Ed25519 key. */
export async function csrFor(subject: string): Promise<Uint8Array> {
  const pair = generateKeyPairSync("ed25519");
  return buildCsr({
    subject: parseDn(subject),
    spki: spkiOf(pair.publicKey),
    scheme: { kind: "ed25519" },
    sign: (info) => sign(null, info, pair.privateKey),
  });
}

export const SPKIS = {
  rsa: spkiOf(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey),
  p256: spkiOf(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey),
  p384: spkiOf(generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey),
  p521: spkiOf(generateKeyPairSync("ec", { namedCurve: "P-521" }).publicKey),
  ed25519: spkiOf(generateKeyPairSync("ed25519").publicKey),
};

/** DER of the first few system CA certificates (empty where there are none). */
export function systemCertificates(limit = Infinity): Uint8Array[] {
  const dir = "/etc/ssl/certs";
  if (!existsSync(dir)) return [];
  const found: Uint8Array[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (found.length >= limit) break;
    if (!file.endsWith(".pem")) continue;
    const text = readFileSync(`${dir}/${file}`, "latin1");
    const body = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text)?.[1];
    if (body) found.push(new Uint8Array(Buffer.from(body.replace(/\s+/g, ""), "base64")));
  }
  return found;
}
