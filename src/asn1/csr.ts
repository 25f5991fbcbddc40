/**
 * PKCS#10 certification requests (RFC 2986). The private key stays on the token: buildCsr
 * hands the DER CertificationRequestInfo to a signing callback and wraps what comes back,
 * the recipe of PeculiarVentures/x509's Pkcs10CertificateRequestGenerator.
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  Attribute,
  type Extension,
  Extensions,
  GeneralName,
  Name,
  SubjectPublicKeyInfo,
} from "@peculiar/asn1-x509";
import { Attributes, CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import {
  signatureAlgorithmIdentifier,
  signatureAlgorithmNameFromOid,
  signatureSchemeOf,
  type SignatureScheme,
  type Signer,
} from "./algorithms.js";
import { fromArrayBuffer, toArrayBuffer } from "./bytes.js";
import { formatDn } from "./dn-format.js";
import { subjectAltNameExtension } from "./extensions.js";
import { parseDer } from "./der.js";
import { decodePemOrDer } from "./pem.js";
import { parsePublicKey } from "./spki.js";
import { TspError } from "../errors.js";

/** PKCS#9 extensionRequest (RFC 2985 5.4.2): where a CSR asks for extensions. */
export const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

export type { Signer };

export interface CsrParams {
  subject: Name;
  /**
   * SubjectPublicKeyInfo of the token key: DER (checked strictly), or the structure as
   * spki.ts's publicKeyInfoOf made it.
   */
  spki: Uint8Array | SubjectPublicKeyInfo;
  sans?: GeneralName[];
  scheme: SignatureScheme;
  sign: Signer;
}

/** DER CertificationRequest, version 0, signed by `sign`. */
export async function buildCsr(params: CsrParams): Promise<Uint8Array> {
  const info = new CertificationRequestInfo({
    version: 0,
    subject: params.subject,
    subjectPKInfo:
      params.spki instanceof SubjectPublicKeyInfo
        ? params.spki
        : parseDer(params.spki, SubjectPublicKeyInfo, "not a DER SubjectPublicKeyInfo"),
    attributes: csrAttributes(params.sans),
  });
  const infoDer = new Uint8Array(AsnConvert.serialize(info));
  const signature = await params.sign(infoDer);
  const csr = new CertificationRequest({
    // The serializer is deterministic: the request carries infoDer byte for byte.
    certificationRequestInfo: info,
    signatureAlgorithm: await signatureAlgorithmIdentifier(params.scheme),
    signature: toArrayBuffer(signature),
  });
  return new Uint8Array(AsnConvert.serialize(csr));
}

/** An extensionRequest with the SANs, or no attributes at all (OpenSSL writes an empty [0]). */
function csrAttributes(sans: GeneralName[] | undefined): Attributes {
  if (!sans || sans.length === 0) return new Attributes();
  const extensions = new Extensions([subjectAltNameExtension(sans)]);
  return new Attributes([
    new Attribute({ type: OID_EXTENSION_REQUEST, values: [AsnConvert.serialize(extensions)] }),
  ]);
}

export interface ParsedCsr {
  /** RFC 4514. */
  subject: string;
  subjectDer: Uint8Array;
  spki: Uint8Array;
  /** OpenSSL's name, e.g. ecdsa-with-SHA256; the dotted OID when unknown. */
  signatureAlgorithm: string;
  /** The signed bytes (DER CertificationRequestInfo). */
  infoDer: Uint8Array;
  signature: Uint8Array;
  /** The signature's scheme, when it is one tsp11 knows. */
  scheme: SignatureScheme | undefined;
  subjectName: Name;
  /** The extensions the request asks for (extensionRequest), in its order. */
  requestedExtensions: Extension[];
}

/** The extensions of the request's extensionRequest attribute, if any. */
function requestedExtensions(info: CertificationRequestInfo): Extension[] {
  const attribute = info.attributes.find((item) => item.type === OID_EXTENSION_REQUEST);
  const [value] = attribute?.values ?? [];
  return value ? [...parseDer(value, Extensions, "not a valid extensionRequest")] : [];
}

const NOT_A_CSR = "not a PEM or DER certificate request";

/**
 * Reads a DER or PEM CSR, strictly: DER that re-encodes to its own bytes, a public key of a
 * kind tsp11 knows and OpenSSL would load. Anything else is a usage error.
 */
export function parseCsr(input: Uint8Array): ParsedCsr {
  const { der } = decodePemOrDer(input, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"]);
  try {
    const csr = parseDer(der, CertificationRequest, NOT_A_CSR);
    const info = csr.certificationRequestInfo;
    const spki = new Uint8Array(AsnConvert.serialize(info.subjectPKInfo));
    parsePublicKey(spki);
    return {
      subject: formatDn(info.subject),
      subjectDer: new Uint8Array(AsnConvert.serialize(info.subject)),
      spki,
      signatureAlgorithm: signatureAlgorithmNameFromOid(csr.signatureAlgorithm.algorithm),
      infoDer: csr.certificationRequestInfoRaw
        ? fromArrayBuffer(csr.certificationRequestInfoRaw)
        : new Uint8Array(AsnConvert.serialize(info)),
      signature: fromArrayBuffer(csr.signature),
      scheme: signatureSchemeOf(csr.signatureAlgorithm),
      subjectName: info.subject,
      requestedExtensions: requestedExtensions(info),
    };
  } catch (error) {
    if (error instanceof TspError) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new TspError("usage", `${NOT_A_CSR}: ${why}`, { cause: error });
  }
}
