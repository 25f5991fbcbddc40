/**
 * Distinguished names: parse the two user syntaxes into an asn1-x509 Name encoded exactly as
 * `openssl req -subj` would (same string types, same order, SET OF sorted as DER requires),
 * and print names back in RFC 4514 or OpenSSL form (see dn-format.ts).
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  AttributeTypeAndValue,
  AttributeValue,
  Name,
  RelativeDistinguishedName,
} from "@peculiar/asn1-x509";
import {
  attributeByName,
  attributeByOid,
  isDottedOid,
  type DnStringType,
} from "./dn-attributes.js";
import { parseDer } from "./der.js";
import { dnError, scanDn, type RawAva } from "./dn-scan.js";

export { formatDn, formatDnOpenssl } from "./dn-format.js";

/**
 * `/C=US/O=b+OU=c/CN=a` (encoding order) or `CN=a,O=b+OU=c,C=US` (RFC 4514, most specific
 * first): both give the same Name. Malformed input throws
 * `TspError("usage", "invalid DN at position N: ...")`.
 */
export function parseDn(text: string): Name {
  const { syntax, rdns } = scanDn(text);
  const inEncodingOrder = syntax === "rfc4514" ? [...rdns].reverse() : rdns;
  return new Name(
    inEncodingOrder.map((rdn) => new RelativeDistinguishedName(sortSetOf(rdn.map(toAva)))),
  );
}

/** A Name from its DER (a CA certificate's subject, as the issuer of what it signs). */
export function nameFromDer(der: Uint8Array): Name {
  return parseDer(der, Name, "not a DER-encoded Name");
}

/** DER of a Name (CKA_SUBJECT, golden tests). */
export function nameToDer(name: Name): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(name));
}

function toAva(raw: RawAva): AttributeTypeAndValue {
  const { oid, stringType, twoLetters } = resolveType(raw);
  checkValue(raw, stringType, twoLetters);
  const value =
    stringType === "printable"
      ? new AttributeValue({ printableString: raw.value })
      : stringType === "ia5"
        ? new AttributeValue({ ia5String: raw.value })
        : new AttributeValue({ utf8String: raw.value });
  return new AttributeTypeAndValue({ type: oid, value });
}

interface ResolvedType {
  oid: string;
  stringType: DnStringType;
  twoLetters: boolean;
}

/** A name from the table, or a dotted OID (a known one, e.g. 2.5.4.6, encodes as its name would). */
function resolveType(raw: RawAva): ResolvedType {
  const dotted = isDottedOid(raw.type);
  const known = dotted ? attributeByOid(raw.type) : attributeByName(raw.type);
  if (known) {
    return { oid: known.oid, stringType: known.stringType, twoLetters: known.twoLetters ?? false };
  }
  if (dotted) return { oid: raw.type, stringType: "utf8", twoLetters: false };
  throw dnError(raw.typePos, `unknown attribute type '${raw.type}'`);
}

// X.680 PrintableString alphabet.
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
/** IA5String is 7-bit ASCII. */
const isIa5 = (text: string): boolean => Array.from(text).every((ch) => ch.charCodeAt(0) < 0x80);

function checkValue(raw: RawAva, stringType: DnStringType, twoLetters: boolean): void {
  const at = raw.valuePos;
  if (raw.value === "") throw dnError(at, `empty value for ${raw.type}`);
  if (twoLetters && !/^[A-Za-z]{2}$/.test(raw.value)) {
    throw dnError(at, `${raw.type} must be a two-letter country code, not '${raw.value}'`);
  }
  if (stringType === "printable" && !PRINTABLE.test(raw.value)) {
    throw dnError(
      at,
      `${raw.type} allows only A-Z a-z 0-9 space and '()+,-./:=? (PrintableString)`,
    );
  }
  if (stringType === "ia5" && !isIa5(raw.value)) {
    throw dnError(at, `${raw.type} must be ASCII (IA5String)`);
  }
}

/** DER orders SET OF members by their encodings (X.690 11.6); OpenSSL does the same. */
function sortSetOf(avas: AttributeTypeAndValue[]): AttributeTypeAndValue[] {
  // One member (most RDNs) is in order as it is: no encoding needed.
  if (avas.length < 2) return avas;
  const encoded = avas.map((ava) => ({ ava, der: new Uint8Array(AsnConvert.serialize(ava)) }));
  encoded.sort((a, b) => compareBytes(a.der, b.der));
  return encoded.map((e) => e.ava);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
