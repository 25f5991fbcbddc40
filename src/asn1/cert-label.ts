/**
 * The CKA_LABEL a certificate gets when neither --label nor a matching token key names it:
 * the most specific commonName, else organizationalUnitName, else organizationName (8 of the
 * usual system CA certificates have no CN but an OU), else the whole subject in RFC 4514 form,
 * else (an empty subject) "certificate <serial>". Control characters never reach a label raw:
 * each C0/C1 control or DEL becomes U+FFFD, so "a\0.example.com" shows as "a\uFFFD.example.com"
 * instead of passing for "a.example.com" or cutting the label short in C tools.
 */
import type { Name } from "@peculiar/asn1-x509";
import { formatDn, valueText } from "./dn-format.js";

const OID_CN = "2.5.4.3";
const OID_OU = "2.5.4.11";
const OID_O = "2.5.4.10";

export function certificateLabel(subject: Name, serialHex: string): string {
  for (const oid of [OID_CN, OID_OU, OID_O]) {
    const value = mostSpecific(subject, oid);
    if (value !== undefined) return value;
  }
  const whole = sanitizeLabel(formatDn(subject));
  return whole !== "" ? whole : `certificate ${serialHex}`;
}

/** The value of the last (most specific) attribute of this type with a non-blank text. */
function mostSpecific(subject: Name, oid: string): string | undefined {
  const values = subject
    .flatMap((rdn) => [...rdn])
    .filter((ava) => ava.type === oid)
    .map((ava) => sanitizeLabel(valueText(ava.value) ?? "").trim())
    .filter((text) => text !== "");
  return values.at(-1);
}

/** Each control character (C0, DEL, C1) replaced by U+FFFD. */
export function sanitizeLabel(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "\uFFFD");
}
