/**
 * Printing names. formatDn gives RFC 4514 exactly as
 * `openssl x509 -noout -subject -nameopt RFC2253,-esc_msb` does (RDNs and the members of a
 * multi-valued RDN both reversed, UTF-8 printed as is), except that streetAddress prints as the
 * RFC's STREET. formatDnOpenssl gives the `/C=US/O=x/CN=a` form `openssl req -subj` takes.
 */
import { Name, type AttributeTypeAndValue, type AttributeValue } from "@peculiar/asn1-x509";
import { toHex } from "./bytes.js";
import { attributeByOid } from "./dn-attributes.js";
import { parseDer } from "./der.js";

/** RFC 4514 string of a Name or of its DER. */
export function formatDn(name: Name | Uint8Array): string {
  return [...toName(name)]
    .reverse()
    .map((rdn) =>
      [...rdn]
        .reverse()
        .map((ava) => formatAva(ava, rfc4514Type, escapeRfc4514))
        .join("+"),
    )
    .join(",");
}

/** OpenSSL `-subj` string of a Name or of its DER; parseDn reads it back to the same Name. */
export function formatDnOpenssl(name: Name | Uint8Array): string {
  return [...toName(name)]
    .map((rdn) => "/" + rdn.map((ava) => formatAva(ava, opensslType, escapeOpenssl)).join("+"))
    .join("");
}

function toName(name: Name | Uint8Array): Name {
  return name instanceof Name ? name : parseDer(name, Name, "not a DER-encoded Name");
}

function rfc4514Type(oid: string): string {
  const known = attributeByOid(oid);
  return known ? (known.rfc4514 ?? known.short) : oid;
}

function opensslType(oid: string): string {
  return attributeByOid(oid)?.short ?? oid;
}

function formatAva(
  ava: AttributeTypeAndValue,
  typeName: (oid: string) => string,
  escape: (value: string) => string,
): string {
  const text = valueText(ava.value);
  // RFC 4514 section 2.4: a value that is not a string is written as # and its BER, in hex.
  const value = text === undefined ? `#${valueDerHex(ava.value)}` : escape(text);
  return `${typeName(ava.type)}=${value}`;
}

export function valueText(value: AttributeValue): string | undefined {
  return (
    value.utf8String ??
    value.printableString ??
    value.ia5String ??
    value.teletexString ??
    value.bmpString ??
    value.universalString
  );
}

function valueDerHex(value: AttributeValue): string {
  // anyValue holds the whole TLV of a value the CHOICE did not recognise.
  return value.anyValue ? toHex(new Uint8Array(value.anyValue)) : "";
}

const RFC4514_SPECIALS = '"+,;<>\\';

/** RFC 4514 section 2.4 escaping; control characters as \XX like OpenSSL's ESC_CTRL. */
export function escapeRfc4514(value: string): string {
  const chars = Array.from(value);
  return chars
    .map((ch, k) => {
      if (RFC4514_SPECIALS.includes(ch)) return `\\${ch}`;
      if (k === 0 && (ch === " " || ch === "#")) return `\\${ch}`;
      if (k === chars.length - 1 && ch === " ") return "\\ ";
      return escapeControl(ch);
    })
    .join("");
}

/** The characters `-subj` treats specially: the separators and the backslash itself. */
function escapeOpenssl(value: string): string {
  return Array.from(value, (ch) => ("/+\\".includes(ch) ? `\\${ch}` : escapeControl(ch))).join("");
}

function escapeControl(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `\\${code.toString(16).toUpperCase().padStart(2, "0")}`;
  return ch;
}
