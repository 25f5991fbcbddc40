/**
 * subjectAltName entries as `--san` takes them (OpenSSL's `subjectAltName=` syntax):
 * `DNS:x,IP:1.2.3.4,IP:2001:db8::1,email:a@b,URI:https://u`. The IP parser is our own
 * because the schema's accepts malformed addresses (it maps junk parts to NaN bytes).
 */
import { GeneralName } from "@peculiar/asn1-x509";
import { TspError } from "../errors.js";

type Kind = "dns" | "ip" | "email" | "uri";

const KINDS: Readonly<Record<string, Kind>> = {
  dns: "dns",
  ip: "ip",
  email: "email",
  uri: "uri",
};

/**
 * A comma-separated list, or an array of single entries (the REST API's form, which is how a
 * URI containing a comma can be given), to GeneralNames in the order given.
 */
export function parseSanList(text: string | readonly string[]): GeneralName[] {
  const entries = typeof text === "string" ? text.split(",") : text;
  const names = entries
    .map((e) => e.trim())
    .filter((e) => e !== "")
    .map(parseSanEntry);
  if (names.length === 0) throw new TspError("usage", "empty subjectAltName list");
  return names;
}

export function parseSanEntry(entry: string): GeneralName {
  const colon = entry.indexOf(":");
  const kind = KINDS[entry.slice(0, Math.max(colon, 0)).trim().toLowerCase()];
  const value = entry.slice(colon + 1).trim();
  if (colon < 0 || kind === undefined) {
    throw sanError(entry, "expected DNS:, IP:, email: or URI:");
  }
  if (value === "") throw sanError(entry, "empty value");
  switch (kind) {
    case "ip":
      return new GeneralName({ iPAddress: canonicalIp(entry, value) });
    case "dns":
      return new GeneralName({ dNSName: ascii(entry, value) });
    case "email":
      return new GeneralName({ rfc822Name: ascii(entry, value) });
    case "uri":
      return new GeneralName({ uniformResourceIdentifier: ascii(entry, value) });
  }
}

function sanError(entry: string, why: string): TspError {
  return new TspError("usage", `invalid subjectAltName entry '${entry}': ${why}`);
}

/** IA5String holds ASCII only; IDNs must come as their xn-- form. */
function ascii(entry: string, value: string): string {
  if (!/^[\x21-\x7e]+$/.test(value)) throw sanError(entry, "must be printable ASCII (IA5String)");
  return value;
}

/**
 * Validates an IPv4 or IPv6 address and returns it in a form the schema's converter encodes
 * to exactly 4 or 16 bytes (IPv6 fully expanded, so no `::` or dotted tail reaches it).
 */
function canonicalIp(entry: string, text: string): string {
  const bytes = parseIpAddress(text);
  if (!bytes) throw sanError(entry, "not an IPv4 or IPv6 address");
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(":");
}

/** The 4 or 16 bytes of an address, or undefined. */
export function parseIpAddress(text: string): number[] | undefined {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^(?:0|[1-9][0-9]{0,2})$/.test(p) ? Number(p) : 256));
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function parseIpv6(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = groupsOf(halves[0] ?? "");
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? "") : [];
  if (!head || !tail) return undefined;
  const missing = 16 - head.length - tail.length;
  // "::" stands for at least one zero group; without it the groups must fill all 16 bytes.
  if (halves.length === 2 ? missing < 2 : missing !== 0) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** Bytes of colon-separated hex groups, the last of which may be a dotted IPv4 address. */
function groupsOf(text: string): number[] | undefined {
  if (text === "") return [];
  const bytes: number[] = [];
  const groups = text.split(":");
  for (const [k, group] of groups.entries()) {
    if (k === groups.length - 1 && group.includes(".")) {
      const v4 = parseIpv4(group);
      if (!v4) return undefined;
      bytes.push(...v4);
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(group)) {
      const n = parseInt(group, 16);
      bytes.push(n >> 8, n & 0xff);
    } else {
      return undefined;
    }
  }
  return bytes;
}
