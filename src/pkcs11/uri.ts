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
      // Whole code points: a literal character outside the BMP is two UTF-16 units.
      const char = String.fromCodePoint(value.codePointAt(i) ?? 0);
      bytes.push(...Buffer.from(char, "utf8"));
      i += char.length - 1;
    }
  }
  return Uint8Array.from(bytes);
}

function decodeText(value: string, name: string): string {
  return Buffer.from(decodeBytes(value, name)).toString("utf8");
}

function assignPath(uri: Pkcs11Uri, name: string, raw: string): void {
  const textKey = PATH_TEXT[name];
  if (textKey) {
    uri[textKey] = decodeText(raw, name);
  } else if (name === "id") {
    uri.id = decodeBytes(raw, name);
  } else if (name === "slot-id") {
    const text = decodeText(raw, name);
    if (!/^\d+$/.test(text)) throw invalid(`slot-id must be a decimal number, not "${text}"`);
    uri.slotId = Number(text);
  } else if (name === "type" || name === "object-type") {
    const type = decodeText(raw, name);
    if (!OBJECT_TYPES.includes(type as UriObjectType)) {
      throw invalid(`type must be one of ${OBJECT_TYPES.join(", ")}`);
    }
    uri.type = type as UriObjectType;
  } else {
    // A path attribute narrows the selection: ignoring one would select more than the URI names.
    throw invalid(
      `unknown attribute "${name}" (tsp11 selects by ${Object.keys(PATH_TEXT).join(", ")}, id, slot-id, type)`,
    );
  }
  if (name === "library-version" && !/^\d+(\.\d+)?$/.test(uri.libraryVersion ?? "")) {
    throw invalid(`library-version must be M or M.N, not "${uri.libraryVersion ?? ""}"`);
  }
}

function assignQuery(uri: Pkcs11Uri, name: string, raw: string): void {
  const textKey = QUERY_TEXT[name];
  // Other query attributes (vendor "x-" ones among them) select nothing: ignored, as RFC 7512 allows.
  if (textKey) uri[textKey] = decodeText(raw, name);
}

export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (!/^pkcs11:/i.test(text)) throw invalid('it must start with "pkcs11:"');
  const body = text.slice("pkcs11:".length);
  const queryAt = body.indexOf("?");
  const path = queryAt < 0 ? body : body.slice(0, queryAt);
  const query = queryAt < 0 ? "" : body.slice(queryAt + 1);
  const uri: Pkcs11Uri = {};
  const seen = new Set<string>();
  const parts = [
    ...path.split(";").map((part) => [part, false] as const),
    ...query.split("&").map((part) => [part, true] as const),
  ];
  for (const [part, inQuery] of parts) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw invalid(`"${part}" is not name=value`);
    const name = part.slice(0, eq).toLowerCase();
    const key = name === "object-type" ? "type" : name;
    if (seen.has(key)) throw invalid(`${name} is given twice`);
    seen.add(key);
    if (inQuery) assignQuery(uri, name, part.slice(eq + 1));
    else assignPath(uri, name, part.slice(eq + 1));
  }
  if (uri.pinValue !== undefined && uri.pinSource !== undefined) {
    throw invalid("pin-value and pin-source cannot be used together");
  }
  return uri;
}

/** Path attributes that select a token (slot and library ones included). */
const TOKEN_KEYS = [
  "token",
  "manufacturer",
  "model",
  "serial",
  "slotId",
  "slotDescription",
  "slotManufacturer",
] as const satisfies readonly (keyof Pkcs11Uri)[];

export function namesToken(uri: Pkcs11Uri | undefined): boolean {
  return uri !== undefined && TOKEN_KEYS.some((key) => uri[key] !== undefined);
}

export function namesObject(uri: Pkcs11Uri | undefined): boolean {
  return (
    uri !== undefined &&
    (uri.object !== undefined || uri.id !== undefined || uri.type !== undefined)
  );
}

/** What the module's C_GetInfo says, trimmed of padding. */
export interface LibraryFacts {
  manufacturer: string;
  description: string;
  version: { major: number; minor: number };
}

/**
 * Why the module is not the one the URI's library-* attributes name, or undefined when it is.
 * `library-version=2` means 2.0, as RFC 7512 says.
 */
export function libraryMismatch(uri: Pkcs11Uri, library: LibraryFacts): string | undefined {
  if (uri.libraryManufacturer !== undefined && uri.libraryManufacturer !== library.manufacturer) {
    return `library-manufacturer is "${library.manufacturer}", not "${uri.libraryManufacturer}"`;
  }
  if (uri.libraryDescription !== undefined && uri.libraryDescription !== library.description) {
    return `library-description is "${library.description}", not "${uri.libraryDescription}"`;
  }
  if (uri.libraryVersion !== undefined) {
    const [major = "", minor = "0"] = uri.libraryVersion.split(".");
    const { version } = library;
    if (Number(major) !== version.major || Number(minor) !== version.minor) {
      return `library-version is ${version.major}.${version.minor}, not ${uri.libraryVersion}`;
    }
  }
  return undefined;
}

/** The slot and token facts a URI's token attributes are matched against. */
export interface TokenFacts {
  slotId: number;
  slotDescription: string;
  slotManufacturer: string;
  token?: { label: string; manufacturer: string; model: string; serial: string } | undefined;
}

/** Every token attribute the URI gives must match; a slot without a token matches no token attribute. */
export function tokenMatches(uri: Pkcs11Uri, facts: TokenFacts): boolean {
  const { token } = facts;
  const checks: [string | number | undefined, string | number | undefined][] = [
    [uri.slotId, facts.slotId],
    [uri.slotDescription, facts.slotDescription],
    [uri.slotManufacturer, facts.slotManufacturer],
    [uri.token, token?.label],
    [uri.manufacturer, token?.manufacturer],
    [uri.model, token?.model],
    [uri.serial, token?.serial],
  ];
  return checks.every(([wanted, actual]) => wanted === undefined || wanted === actual);
}

/**
 * An option and the URI attribute that says the same thing: either alone, or both the same;
 * different values are a usage error (exit 2) naming both.
 */
export function agreeing<T extends string | number | Uint8Array>(
  option: string,
  optionValue: T | undefined,
  attribute: string,
  uriValue: T | undefined,
): T | undefined {
  if (optionValue === undefined) return uriValue;
  if (uriValue === undefined || sameValue(optionValue, uriValue)) return optionValue;
  throw new TspError(
    "usage",
    `conflicting selectors: ${option} ${shown(optionValue)} and the URI's ${attribute}=${shown(uriValue)}; give one, or the same value in both`,
  );
}

function sameValue(a: string | number | Uint8Array, b: string | number | Uint8Array): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(b);
  return a === b;
}

function shown(value: string | number | Uint8Array): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex") || "(empty)";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
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

/** %00 ... %ff, made on first use: a listing encodes an id per object, most starts none. */
let percentBytes: string[] | undefined;

function encodeBytes(bytes: Uint8Array): string {
  percentBytes ??= Array.from({ length: 256 }, (_, b) => `%${b.toString(16).padStart(2, "0")}`);
  let out = "";
  for (const byte of bytes) out += percentBytes[byte] ?? "";
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

/**
 * Prints a token's URI (and optionally an object's): never a PIN, never library fields.
 * An object's URI (one with a type) names its id and label even when empty (`id=`,
 * `object=`), so it selects that object and not one of its class with another id or label;
 * data objects have no CKA_ID and print none.
 */
export function formatPkcs11Uri(token: TokenUriParts, object: ObjectUriParts = {}): string {
  const parts = [tokenPart(token)];
  const exact = object.type !== undefined;
  const id = object.type === "data" ? undefined : object.id;
  if (id && (id.length > 0 || exact)) parts.push(`id=${encodeBytes(id)}`);
  if (object.label !== undefined && (object.label !== "" || exact)) {
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
