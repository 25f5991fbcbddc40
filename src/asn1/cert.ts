/**
 * X.509 certificates (RFC 5280): parsing what write-object stores, and building what a later
 * `tsp11 cert` signs on the token. CKA_SUBJECT, CKA_ISSUER and CKA_SERIAL_NUMBER must be the
 * certificate's own bytes, so they are captured raw rather than re-encoded.
 */
import { AsnConvert, AsnProp, AsnPropTypes } from "@peculiar/asn1-schema";
import {
  Certificate,
  Extensions,
  Name,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  type Extension,
} from "@peculiar/asn1-x509";
import { RSAPublicKey } from "@peculiar/asn1-rsa";
import { TspError } from "../errors.js";
import {
  signatureAlgorithmIdentifier,
  signatureAlgorithmNameFromOid,
  type SignatureScheme,
  type Signer,
} from "./algorithms.js";
import {
  bytesEqual,
  fromArrayBuffer,
  integerToUnsigned,
  stripLeadingZeros,
  toArrayBuffer,
  toHex,
  unsignedToInteger,
} from "./bytes.js";
import { formatDn } from "./dn-format.js";
import { parseDer } from "./der.js";
import { decodePemOrDer } from "./pem.js";
import { parseSpki, rsaSpki, type SpkiInfo } from "./spki.js";

export const CERTIFICATE_LABELS = ["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"];

/**
 * The leading TBSCertificate fields as raw DER: the Any converter keeps each element's exact
 * bytes (tag included). The parser stops after the last declared field, so the optional
 * trailing fields need no declaration.
 */
class TbsCertificateRawFields {
  @AsnProp({ type: AsnPropTypes.Any, context: 0, optional: true })
  public version?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any })
  public serialNumber = new ArrayBuffer(0);
  @AsnProp({ type: AsnPropTypes.Any })
  public signature = new ArrayBuffer(0);
  @AsnProp({ type: AsnPropTypes.Any })
  public issuer = new ArrayBuffer(0);
  @AsnProp({ type: AsnPropTypes.Any })
  public validity = new ArrayBuffer(0);
  @AsnProp({ type: AsnPropTypes.Any })
  public subject = new ArrayBuffer(0);
  @AsnProp({ type: AsnPropTypes.Any })
  public subjectPublicKeyInfo = new ArrayBuffer(0);
}

export interface ParsedCertificate {
  /** The certificate alone (CKA_VALUE); from a TRUSTED CERTIFICATE, without OpenSSL's aux data. */
  der: Uint8Array;
  /** CKA_SUBJECT / CKA_ISSUER: the Names exactly as encoded in the certificate. */
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  /** CKA_SERIAL_NUMBER: the DER INTEGER, tag and length included. */
  serialDer: Uint8Array;
  /**
   * Lowercase hex of the serial's value, as `openssl x509 -serial` shows it (the 00 that DER
   * adds to keep a number positive is not part of the value).
   */
  serialHex: string;
  /** RFC 4514. */
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo, as encoded in the certificate. */
  spki: Uint8Array;
  /** OpenSSL's name of the signature algorithm, e.g. sha256WithRSAEncryption. */
  signatureAlgorithm: string;
}

const NOT_A_CERT = "not a PEM or DER X.509 certificate";

/** A DER or PEM certificate (detected). Anything else is a one-line usage error. */
export function parseCertificate(input: Uint8Array): ParsedCertificate {
  const { der: decoded, label } = decodePemOrDer(input, CERTIFICATE_LABELS);
  const cert = parseDer(decoded, Certificate, NOT_A_CERT);
  const der = certificateBytes(decoded, cert, label === "TRUSTED CERTIFICATE");
  if (!cert.tbsCertificateRaw) throw new TspError("usage", NOT_A_CERT);
  const raw = parseDer(cert.tbsCertificateRaw, TbsCertificateRawFields, NOT_A_CERT);
  const tbs = cert.tbsCertificate;
  return {
    der,
    subjectDer: fromArrayBuffer(raw.subject),
    issuerDer: fromArrayBuffer(raw.issuer),
    serialDer: fromArrayBuffer(raw.serialNumber),
    serialHex: serialValueHex(new Uint8Array(tbs.serialNumber)),
    subject: formatDn(tbs.subject),
    issuer: formatDn(tbs.issuer),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    spki: fromArrayBuffer(raw.subjectPublicKeyInfo),
    signatureAlgorithm: signatureAlgorithmNameFromOid(cert.signatureAlgorithm.algorithm),
  };
}

/**
 * The certificate's own bytes. The parser ignores what follows the certificate, so a DER
 * re-encoding that is a strict prefix of the input reveals trailing data: refused, except in
 * OpenSSL's TRUSTED CERTIFICATE, where trust settings follow by design. A BER input (whose
 * re-encoding differs) is kept as given, since its signature covers those bytes.
 */
function certificateBytes(input: Uint8Array, cert: Certificate, trusted: boolean): Uint8Array {
  const reencoded = new Uint8Array(AsnConvert.serialize(cert));
  const isPrefix =
    reencoded.length < input.length && bytesEqual(reencoded, input.subarray(0, reencoded.length));
  if (!isPrefix) return input;
  if (trusted) return reencoded;
  throw new TspError("usage", `${NOT_A_CERT}: trailing data after the certificate`);
}

/**
 * A serial's value in hex. Positive serials (all that RFC 5280 allows) lose their leading
 * zero bytes; a negative one, from a non-conforming CA, keeps its two's-complement bytes.
 */
function serialValueHex(bytes: Uint8Array): string {
  const negative = (bytes[0] ?? 0) >= 0x80;
  return toHex(negative ? bytes : stripLeadingZeros(bytes));
}

export interface ParsedPublicKey extends SpkiInfo {
  /** DER SubjectPublicKeyInfo. */
  der: Uint8Array;
}

/**
 * A public key file: PEM "PUBLIC KEY" or DER SubjectPublicKeyInfo, also PKCS#1 "RSA PUBLIC KEY"
 * PEM (turned into an SPKI).
 */
export function parsePublicKeyInput(input: Uint8Array): ParsedPublicKey {
  const { der, label } = decodePemOrDer(input, ["PUBLIC KEY", "RSA PUBLIC KEY"]);
  if (label === "RSA PUBLIC KEY") {
    const rsa = parseDer(der, RSAPublicKey, "not a PKCS#1 RSA public key");
    const spki = rsaSpki(integerToUnsigned(rsa.modulus), integerToUnsigned(rsa.publicExponent));
    return { der: spki, ...parseSpki(spki) };
  }
  return { der, ...parseSpki(der) };
}

export interface CertificateParams {
  subject: Name;
  issuer: Name;
  /** Unsigned big-endian serial number (RFC 5280 4.1.2.2: positive, at most 20 bytes). */
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo of the subject's key. */
  spki: Uint8Array;
  extensions?: Extension[];
  scheme: SignatureScheme;
  /** Gets the DER TBSCertificate; see Signer in algorithms.ts for the signature's encoding. */
  sign: Signer;
}

/** DER X.509 v3 certificate signed by `sign`. */
export async function buildCertificate(params: CertificateParams): Promise<Uint8Array> {
  const signatureAlgorithm = signatureAlgorithmIdentifier(params.scheme);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: unsignedToInteger(params.serial),
    signature: signatureAlgorithm,
    issuer: params.issuer,
    // Validity picks UTCTime through 2049 and GeneralizedTime after (RFC 5280 4.1.2.5).
    validity: new Validity({ notBefore: params.notBefore, notAfter: params.notAfter }),
    subject: params.subject,
    subjectPublicKeyInfo: parseDer(
      params.spki,
      SubjectPublicKeyInfo,
      "not a DER SubjectPublicKeyInfo",
    ),
    extensions: params.extensions?.length ? new Extensions(params.extensions) : undefined,
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = await params.sign(tbsDer);
  const cert = new Certificate({
    tbsCertificate: AsnConvert.parse(tbsDer, TBSCertificate),
    signatureAlgorithm,
    signatureValue: toArrayBuffer(signature),
  });
  return new Uint8Array(AsnConvert.serialize(cert));
}
