/**
 * cert: an X.509 certificate signed on the token. Self-signed for a token key (what
 * Mastercard's p11mkcert and `openssl req -x509 -engine pkcs11` make), or issued by a token CA
 * key for a request (`--csr`), with the CA's certificate naming the issuer. The request's own
 * signature is checked first; the CA certificate must belong to the token key.
 */
import {
  constants as cryptoConstants,
  createHash,
  createPublicKey,
  randomBytes,
  verify,
} from "node:crypto";
import type { Extension, GeneralName, Name } from "@peculiar/asn1-x509";
import type { Hash, SignatureScheme } from "../asn1/algorithms.js";
import type { ParsedCertificate } from "../asn1/cert.js";
import { buildCertificate, parseCertificate } from "../asn1/cert.js";
import type { ParsedCsr } from "../asn1/csr.js";
import { parseCsr } from "../asn1/csr.js";
import { formatDn, nameFromDer, parseDn } from "../asn1/dn.js";
import type { KeyUsageName } from "../asn1/extensions.js";
import {
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  keyUsageExtension,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
  subjectPublicKeyBytes,
} from "../asn1/extensions.js";
import { toPem } from "../asn1/pem.js";
import { parseSanList } from "../asn1/san.js";
import { parseSpki, spkiEquals } from "../asn1/spki.js";
import { TspError } from "../errors.js";
import type { TokenScope } from "../pkcs11/token.js";
import type { KeySelector } from "./find-key.js";
import { findKey } from "./find-key.js";
import { isoSeconds } from "./list-objects.js";
import type { SignerHooks } from "./token-signer.js";
import { tokenSigner } from "./token-signer.js";

const OID_SUBJECT_ALT_NAME = "2.5.29.17";
const DAY_MS = 86_400_000;

export interface CertInput {
  subject?: string | undefined;
  san?: string | readonly string[] | undefined;
  csr?: Uint8Array | undefined;
  issuerCert?: Uint8Array | undefined;
  days: number;
  serial?: Uint8Array | undefined;
  ca: boolean;
  hash?: Hash | undefined;
  pss: boolean;
}

/** The input, parsed and checked before any token is opened. */
export interface PreparedCert {
  subject: Name;
  sans: GeneralName[] | undefined;
  /** Issued for a request: its subject's key, and the CA certificate. */
  request?: { spki: Uint8Array; issuer: ParsedCertificate; sanExtension?: Extension | undefined };
  days: number;
  serial: Uint8Array;
  ca: boolean;
  hash: Hash | undefined;
  pss: boolean;
}

export interface CertResult {
  pem: string;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  keyId: string;
}

/** A positive serial of 16 random bytes (RFC 5280: positive, at most 20 bytes). */
function randomSerial(): Uint8Array {
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  return serial;
}

/**
 * Node's verify() for a request's self-signature. The key was checked by parseCsr; what can
 * still fail (a signature algorithm that does not fit the key) is the request's fault: exit 2.
 */
function requestSignatureValid(csr: ParsedCsr, scheme: SignatureScheme): boolean {
  try {
    return verifyRequest(csr, scheme);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new TspError("usage", `cert: the request's signature cannot be checked: ${why}`, {
      cause,
    });
  }
}

function verifyRequest(csr: ParsedCsr, scheme: SignatureScheme): boolean {
  const key = createPublicKey({ key: Buffer.from(csr.spki), format: "der", type: "spki" });
  switch (scheme.kind) {
    case "rsa-pkcs1":
      return verify(scheme.hash, csr.infoDer, key, csr.signature);
    case "rsa-pss":
      return verify(
        scheme.hash,
        csr.infoDer,
        { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength },
        csr.signature,
      );
    case "ecdsa":
      return verify(scheme.hash, csr.infoDer, { key, dsaEncoding: "der" }, csr.signature);
    case "ed25519":
      return verify(null, csr.infoDer, key, csr.signature);
  }
}

function prepareRequest(input: CertInput): PreparedCert["request"] & { subject: Name } {
  if (!input.csr) throw new TspError("usage", "cert: no request");
  if (input.subject !== undefined)
    throw new TspError(
      "usage",
      "cert: --subject and --csr exclude each other (the request names its subject)",
    );
  if (!input.issuerCert)
    throw new TspError(
      "usage",
      "cert: --csr needs --issuer-cert, the CA certificate of the token key",
    );
  const csr = withWhat("request", () => parseCsr(input.csr ?? new Uint8Array()));
  if (!csr.scheme)
    throw new TspError(
      "usage",
      `cert: the request's signature algorithm ${csr.signatureAlgorithm} is not supported`,
    );
  if (!requestSignatureValid(csr, csr.scheme)) {
    throw new TspError("verify", "cert: the request's self-signature does not verify");
  }
  return {
    subject: csr.subjectName,
    spki: csr.spki,
    issuer: withWhat("issuer certificate", () =>
      parseCertificate(input.issuerCert ?? new Uint8Array()),
    ),
    sanExtension: csr.requestedExtensions.find(
      (extension) => extension.extnID === OID_SUBJECT_ALT_NAME,
    ),
  };
}

/** A parse error, prefixed with what was being read. */
function withWhat<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof TspError)) throw error;
    throw new TspError(error.kind, `cert: read the ${what}: ${error.message}`, { cause: error });
  }
}

export function prepareCert(input: CertInput): PreparedCert {
  if (!Number.isInteger(input.days) || input.days < 1 || input.days > 36_500) {
    throw new TspError("usage", "cert: --days must be a whole number from 1 to 36500");
  }
  if (input.serial && input.serial.length > 20)
    throw new TspError("usage", "cert: --set-serial is at most 20 bytes");
  const common = {
    sans: input.san === undefined ? undefined : parseSanList(input.san),
    days: input.days,
    serial: input.serial ?? randomSerial(),
    ca: input.ca,
    hash: input.hash,
    pss: input.pss,
  };
  if (input.csr) {
    const { subject, ...request } = prepareRequest(input);
    return { ...common, subject, request };
  }
  if (input.issuerCert) throw new TspError("usage", "cert: --issuer-cert goes with --csr");
  if (input.subject === undefined || input.subject.trim() === "") {
    throw new TspError(
      "usage",
      "cert: give the subject with -d/--subject (self-signed) or a request with --csr",
    );
  }
  return { ...common, subject: parseDn(input.subject) };
}

function keyIdentifier(spki: Uint8Array): Uint8Array {
  return createHash("sha1").update(subjectPublicKeyBytes(spki)).digest();
}

/** CA: basicConstraints CA, keyCertSign + cRLSign; leaf: digitalSignature (+ keyEncipherment for RSA). */
function extensionsFor(
  prepared: PreparedCert,
  subjectSpki: Uint8Array,
  issuerSpki: Uint8Array,
): Extension[] {
  const usages: KeyUsageName[] = prepared.ca
    ? ["digitalSignature", "keyCertSign", "cRLSign"]
    : parseSpki(subjectSpki).keyType === "rsa"
      ? ["digitalSignature", "keyEncipherment"]
      : ["digitalSignature"];
  const extensions = [
    basicConstraintsExtension(prepared.ca),
    keyUsageExtension(usages),
    subjectKeyIdentifierExtension(keyIdentifier(subjectSpki)),
    authorityKeyIdentifierExtension(keyIdentifier(issuerSpki)),
  ];
  // SANs: --san, else those the request asked for.
  if (prepared.sans?.length) extensions.push(subjectAltNameExtension(prepared.sans));
  else if (prepared.request?.sanExtension) extensions.push(prepared.request.sanExtension);
  return extensions;
}

export async function runCert(
  scope: TokenScope,
  selector: KeySelector,
  prepared: PreparedCert,
  hooks: SignerHooks,
): Promise<{ der: Uint8Array; result: CertResult }> {
  const key = findKey(scope.session, "private-key", selector);
  const signer = tokenSigner(scope.session, key, prepared, hooks);
  const request = prepared.request;
  if (request && !spkiEquals(request.issuer.spki, signer.spki)) {
    throw new TspError(
      "conflict",
      `cert: the issuer certificate (${request.issuer.subject}) is not the certificate of the token key "${key.label}"`,
    );
  }
  const subjectSpki = request ? request.spki : signer.spki;
  const issuer = request ? nameFromDer(request.issuer.subjectDer) : prepared.subject;
  // Whole seconds: X.509 times carry no fractions.
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + prepared.days * DAY_MS);
  const der = await buildCertificate({
    subject: prepared.subject,
    issuer,
    serial: prepared.serial,
    notBefore,
    notAfter,
    spki: subjectSpki,
    extensions: extensionsFor(prepared, subjectSpki, signer.spki),
    scheme: signer.scheme,
    sign: signer.sign,
  });
  const parsed = parseCertificate(der);
  return {
    der,
    result: {
      pem: toPem(der, "CERTIFICATE"),
      subject: formatDn(prepared.subject),
      issuer: formatDn(issuer),
      serial: parsed.serialHex,
      notBefore: isoSeconds(notBefore),
      notAfter: isoSeconds(notAfter),
      keyId: Buffer.from(key.id).toString("hex"),
    },
  };
}
