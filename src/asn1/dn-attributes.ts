/**
 * The DN attribute types tsp11 knows: OpenSSL's names (objects.txt) and the string type
 * `openssl req -subj` gives each value with OpenSSL 3's default `string_mask = utf8only`.
 * ASN1_STRING_TABLE pins countryName, serialNumber, dnQualifier and jurisdictionC to
 * PrintableString and emailAddress, domainComponent and mail to IA5String regardless of the
 * mask (STABLE_NO_MASK); everything else, dotted OIDs included, becomes UTF8String.
 */

export type DnStringType = "utf8" | "printable" | "ia5";

export interface DnAttribute {
  readonly oid: string;
  /** OpenSSL's short name: what `/X=` takes and what formatDnOpenssl prints. */
  readonly short: string;
  /** The RFC 4514 name where it differs from OpenSSL's (only STREET). */
  readonly rfc4514?: string;
  /** Other accepted spellings (long names), compared case-insensitively. */
  readonly aliases: readonly string[];
  readonly stringType: DnStringType;
  /** ISO 3166 two-letter codes (OpenSSL: size 2..2). */
  readonly twoLetters?: boolean;
}

const JURISDICTION = "1.3.6.1.4.1.311.60.2.1";

export const DN_ATTRIBUTES: readonly DnAttribute[] = [
  { oid: "2.5.4.3", short: "CN", aliases: ["commonName"], stringType: "utf8" },
  { oid: "2.5.4.4", short: "SN", aliases: ["surname"], stringType: "utf8" },
  { oid: "2.5.4.5", short: "serialNumber", aliases: [], stringType: "printable" },
  {
    oid: "2.5.4.6",
    short: "C",
    aliases: ["countryName"],
    stringType: "printable",
    twoLetters: true,
  },
  { oid: "2.5.4.7", short: "L", aliases: ["localityName"], stringType: "utf8" },
  { oid: "2.5.4.8", short: "ST", aliases: ["stateOrProvinceName"], stringType: "utf8" },
  {
    oid: "2.5.4.9",
    short: "street",
    rfc4514: "STREET",
    aliases: ["streetAddress"],
    stringType: "utf8",
  },
  { oid: "2.5.4.10", short: "O", aliases: ["organizationName"], stringType: "utf8" },
  { oid: "2.5.4.11", short: "OU", aliases: ["organizationalUnitName"], stringType: "utf8" },
  { oid: "2.5.4.12", short: "title", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.13", short: "description", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.15", short: "businessCategory", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.17", short: "postalCode", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.18", short: "postOfficeBox", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.20", short: "telephoneNumber", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.41", short: "name", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.42", short: "GN", aliases: ["givenName"], stringType: "utf8" },
  { oid: "2.5.4.43", short: "initials", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.44", short: "generationQualifier", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.46", short: "dnQualifier", aliases: [], stringType: "printable" },
  { oid: "2.5.4.65", short: "pseudonym", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.72", short: "role", aliases: [], stringType: "utf8" },
  { oid: "2.5.4.97", short: "organizationIdentifier", aliases: [], stringType: "utf8" },
  { oid: "0.9.2342.19200300.100.1.1", short: "UID", aliases: ["userId"], stringType: "utf8" },
  {
    oid: "0.9.2342.19200300.100.1.3",
    short: "mail",
    aliases: ["rfc822Mailbox"],
    stringType: "ia5",
  },
  {
    oid: "0.9.2342.19200300.100.1.25",
    short: "DC",
    aliases: ["domainComponent"],
    stringType: "ia5",
  },
  { oid: "1.2.840.113549.1.9.1", short: "emailAddress", aliases: [], stringType: "ia5" },
  { oid: "1.2.840.113549.1.9.2", short: "unstructuredName", aliases: [], stringType: "utf8" },
  {
    oid: `${JURISDICTION}.3`,
    short: "jurisdictionC",
    aliases: ["jurisdictionCountryName"],
    stringType: "printable",
    twoLetters: true,
  },
  {
    oid: `${JURISDICTION}.2`,
    short: "jurisdictionST",
    aliases: ["jurisdictionStateOrProvinceName"],
    stringType: "utf8",
  },
  {
    oid: `${JURISDICTION}.1`,
    short: "jurisdictionL",
    aliases: ["jurisdictionLocalityName"],
    stringType: "utf8",
  },
];

const BY_NAME = new Map<string, DnAttribute>(
  DN_ATTRIBUTES.flatMap((a) =>
    [a.short, ...(a.rfc4514 ? [a.rfc4514] : []), ...a.aliases].map(
      (n) => [n.toLowerCase(), a] as const,
    ),
  ),
);
const BY_OID = new Map<string, DnAttribute>(DN_ATTRIBUTES.map((a) => [a.oid, a]));

/** Dotted-decimal OID: a first arc of 0..2, then arcs without leading zeros. */
const DOTTED_OID = /^[0-2](?:\.(?:0|[1-9][0-9]*))+$/;

export function isDottedOid(text: string): boolean {
  return DOTTED_OID.test(text);
}

export function attributeByName(name: string): DnAttribute | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export function attributeByOid(oid: string): DnAttribute | undefined {
  return BY_OID.get(oid);
}
