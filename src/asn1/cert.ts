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
  stripLeadingZeros,
  toArrayBuffer,
  toHex,
  unsignedToInteger,
} from "./bytes.js";
import { formatDn } from "./dn-format.js";
import { checkReencodes, parseBer, parseDer } from "./der.js";
import { decodeAllPemOrDer, decodePemOrDer } from "./pem.js";
import { parsePublicKey, parseSpki, rsaSpkiOfPkcs1, type SpkiInfo } from "./spki.js";

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
  /** The subject as parsed (for the certificate's default label). */
  subjectName: Name;
  /** OpenSSL's name of the signature algorithm, e.g. sha256WithRSAEncryption. */
  signatureAlgorithm: string;
}

const NOT_A_CERT = "not a PEM or DER X.509 certificate";

export interface CertificateParseOptions {
  /**
   * Read what a token already holds as leniently as the schema allows (BER, a key OpenSSL
   * would refuse): listing shows its fields. Input to store or to sign with is never lenient.
   */
  lenient?: boolean;
}

/**
 * A DER or PEM certificate (detected); from PEM, the first CERTIFICATE block. Anything that is
 * not strictly one (see parseCertificateDer) is a one-line usage error.
 */
export function parseCertificate(
  input: Uint8Array,
  options: CertificateParseOptions = {},
): ParsedCertificate {
  const [first] = parseCertificates(input, options);
  if (!first) throw new TspError("usage", NOT_A_CERT);
  return first;
}

/** Every certificate of a PEM file (a chain), in file order; a DER input holds one. */
export function parseCertificates(
  input: Uint8Array,
  options: CertificateParseOptions = {},
): ParsedCertificate[] {
  const blocks = decodeAllPemOrDer(input, CERTIFICATE_LABELS);
  return blocks.map(({ der, label }, k) => {
    try {
      return parseCertificateDer(der, label === "TRUSTED CERTIFICATE", options);
    } catch (error) {
      if (blocks.length === 1 || !(error instanceof TspError)) throw error;
      throw new TspError(error.kind, `certificate ${k + 1} of ${blocks.length}: ${error.message}`, {
        cause: error,
      });
    }
  });
}

/**
 * One certificate's DER, strictly: it must re-encode to exactly its own bytes (no BER forms,
 * no trailing bytes but OpenSSL's trust settings after a TRUSTED CERTIFICATE), and a public key
 * of a kind tsp11 knows must be one OpenSSL would load (an EC point on its curve, a sane RSA
 * key). Any other failure of the schema code is reported the same way, never thrown raw.
 */
function parseCertificateDer(
  decoded: Uint8Array,
  trusted: boolean,
  options: CertificateParseOptions,
): ParsedCertificate {
  try {
    const cert = parseBer(decoded, Certificate, NOT_A_CERT);
    const der = trusted ? trustedPrefix(decoded, cert) : decoded;
    if (!options.lenient) checkReencodes(cert, der, NOT_A_CERT);
    if (!cert.tbsCertificateRaw) throw new TspError("usage", NOT_A_CERT);
    const raw = parseBer(cert.tbsCertificateRaw, TbsCertificateRawFields, NOT_A_CERT);
    const spki = fromArrayBuffer(raw.subjectPublicKeyInfo);
    if (!options.lenient) checkCertificateKey(spki);
    const tbs = cert.tbsCertificate;
    return {
      der,
      subjectDer: fromArrayBuffer(raw.subject),
      issuerDer: fromArrayBuffer(raw.issuer),
      serialDer: fromArrayBuffer(raw.serialNumber),
      serialHex: serialValueHex(new Uint8Array(tbs.serialNumber)),
      subject: formatDn(tbs.subject),
      issuer: formatDn(tbs.issuer),
      notBefore: validDate(tbs.validity.notBefore.getTime(), "notBefore"),
      notAfter: validDate(tbs.validity.notAfter.getTime(), "notAfter"),
      spki,
      subjectName: tbs.subject,
      signatureAlgorithm: signatureAlgorithmNameFromOid(cert.signatureAlgorithm.algorithm),
    };
  } catch (error) {
    if (error instanceof TspError) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new TspError("usage", `${NOT_A_CERT}: ${why}`, { cause: error });
  }
}

function validDate(date: Date, field: string): Date {
  if (Number.isNaN(date.getTime())) throw new TspError("usage", `${NOT_A_CERT}: bad ${field} time`);
  return date;
}

/** The key of a certificate, checked when it is one tsp11 reads (others are not its business). */
function checkCertificateKey(spki: Uint8Array): void {
  try {
    parseSpki(spki);
  } catch {
    return;
  }
  parsePublicKey(spki);
}

/**
 * The certificate part of an OpenSSL TRUSTED CERTIFICATE, where trust settings follow it by
 * design: its re-encoding, when the input starts with it.
 */
function trustedPrefix(input: Uint8Array, cert: Certificate): Uint8Array {
  const reencoded = new Uint8Array(AsnConvert.serialize(cert));
  const isPrefix =
    reencoded.length <= input.length && bytesEqual(reencoded, input.subarray(0, reencoded.length));
  if (!isPrefix) {
    throw new TspError(
      "usage",
      `${NOT_A_CERT}: not DER (it does not re-encode to its own bytes: a length, tag or value is malformed)`,
    );
  }
  return reencoded;
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
  try {
    if (label === "RSA PUBLIC KEY") {
      parseDer(der, RSAPublicKey, "not a PKCS#1 RSA public key");
      const spki = rsaSpkiOfPkcs1(der);
      return { der: spki, ...parsePublicKey(spki) };
    }
    return { der, ...parsePublicKey(der) };
  } catch (error) {
    if (error instanceof TspError) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new TspError("usage", `not a valid public key: ${why}`, { cause: error });
  }
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
  const signatureAlgorithm = await signatureAlgorithmIdentifier(params.scheme);
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
