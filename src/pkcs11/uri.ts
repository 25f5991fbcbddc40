/**
 * RFC 7512 PKCS#11 URIs: parsing for --uri, printing for every listed token and object.
 * Pure: no pkcs11js here, so the unit tests and fast paths can use it freely.
 */
import { TspError } from "../errors.js";

export type UriObjectType = "private" | "public" | "cert" | "secret-key" | "data";

export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  model?: string;
  serial?: string;
  slotId?: number;
  slotDescription?: string;
  slotManufacturer?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  libraryVersion?: string;
  object?: string;
  id?: Uint8Array;
  type?: UriObjectType;
  pinValue?: string;
  pinSource?: string;
  modulePath?: string;
  moduleName?: string;
}

type TextKey = Exclude<keyof Pkcs11Uri, "slotId" | "id" | "type">;

const PATH_TEXT: Readonly<Record<string, TextKey>> = {
  token: "token",
  manufacturer: "manufacturer",
  model: "model",
  serial: "serial",
  "slot-description": "slotDescription",
  "slot-manufacturer": "slotManufacturer",
  "library-manufacturer": "libraryManufacturer",
  "library-description": "libraryDescription",
  "library-version": "libraryVersion",
  object: "object",
};

const QUERY_TEXT: Readonly<Record<string, TextKey>> = {
  "pin-value": "pinValue",
  "pin-source": "pinSource",
  "module-path": "modulePath",
  "module-name": "moduleName",
};

const OBJECT_TYPES: readonly UriObjectType[] = ["private", "public", "cert", "secret-key", "data"];

function invalid(why: string): TspError {
  return new TspError("usage", `invalid PKCS#11 URI: ${why}`);
}

function decodeBytes(value: string, name: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === "%") {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw invalid(`bad percent-encoding in ${name}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i] ?? "", "utf8"));
    }
  }
  return Uint8Array.from(bytes);
}

function decodeText(value: string, name: string): string {
  return Buffer.from(decodeBytes(value, name)).toString("utf8");
}

function assignAttribute(uri: Pkcs11Uri, name: string, raw: string, inQuery: boolean): void {
  const textKey = inQuery ? QUERY_TEXT[name] : PATH_TEXT[name];
  if (textKey) {
    uri[textKey] = decodeText(raw, name);
  } else if (!inQuery && name === "id") {
    uri.id = decodeBytes(raw, name);
  } else if (!inQuery && name === "slot-id") {
    const text = decodeText(raw, name);
    if (!/^\d+$/.test(text)) throw invalid(`slot-id must be a decimal number, not "${text}"`);
    uri.slotId = Number(text);
  } else if (!inQuery && (name === "type" || name === "object-type")) {
    const type = decodeText(raw, name);
    if (!OBJECT_TYPES.includes(type as UriObjectType)) {
      throw invalid(`type must be one of ${OBJECT_TYPES.join(", ")}`);
    }
    uri.type = type as UriObjectType;
  }
  // Unknown attributes (vendor "x-" ones among them) are ignored, as RFC 7512 allows.
}

export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (!/^pkcs11:/i.test(text)) throw invalid('it must start with "pkcs11:"');
  const body = text.slice("pkcs11:".length);
  const queryAt = body.indexOf("?");
  const path = queryAt < 0 ? body : body.slice(0, queryAt);
  const query = queryAt < 0 ? "" : body.slice(queryAt + 1);
  const uri: Pkcs11Uri = {};
  const parts = [
    ...path.split(";").map((part) => [part, false] as const),
    ...query.split("&").map((part) => [part, true] as const),
  ];
  for (const [part, inQuery] of parts) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw invalid(`"${part}" is not name=value`);
    assignAttribute(uri, part.slice(0, eq).toLowerCase(), part.slice(eq + 1), inQuery);
  }
  return uri;
}

/** Characters RFC 7512 lets a path value carry unescaped (pchar minus ';' and '/'). */
const SAFE = /[A-Za-z0-9\-._~:[\]@!$'()*+,=&]/;
const ALL_SAFE = /^[A-Za-z0-9\-._~:[\]@!$'()*+,=&]*$/;

function encodeText(value: string): string {
  if (ALL_SAFE.test(value)) return value;
  let out = "";
  for (const char of value) {
    if (SAFE.test(char)) out += char;
    else out += encodeBytes(Buffer.from(char, "utf8"));
  }
  return out;
}

/** %00 ... %ff: a listing encodes an id per object. */
const PERCENT_BYTES = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).padStart(2, "0")}`);

function encodeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += PERCENT_BYTES[byte] ?? "";
  return out;
}

export interface TokenUriParts {
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
}

export interface ObjectUriParts {
  label?: string | undefined;
  id?: Uint8Array | undefined;
  type?: UriObjectType | undefined;
}

/** Prints a token's URI (and optionally an object's): never a PIN, never library fields. */
export function formatPkcs11Uri(token: TokenUriParts, object: ObjectUriParts = {}): string {
  const parts = [tokenPart(token)];
  if (object.id && object.id.length > 0) parts.push(`id=${encodeBytes(object.id)}`);
  if (object.label !== undefined && object.label !== "") {
    parts.push(`object=${encodeText(object.label)}`);
  }
  if (object.type) parts.push(`type=${object.type}`);
  return `pkcs11:${parts.filter((part) => part !== "").join(";")}`;
}

/** The token's fields, encoded once per token: a listing prints them in every object's URI. */
const tokenParts = new WeakMap<TokenUriParts, string>();

function tokenPart(token: TokenUriParts): string {
  let part = tokenParts.get(token);
  if (part === undefined) {
    const fields: [string, string][] = [
      ["model", token.model],
      ["manufacturer", token.manufacturer],
      ["serial", token.serial],
      ["token", token.label],
    ];
    // Empty fields (an uninitialized token's serial) say nothing and are left out.
    part = fields
      .filter(([, value]) => value !== "")
      .map(([name, value]) => `${name}=${encodeText(value)}`)
      .join(";");
    tokenParts.set(token, part);
  }
  return part;
}
