/**
 * Object listing, linear in the number of objects: one search per class tells each object's
 * class, then each object gets one templated attribute read that fits it. For keys the
 * template also fits a key type: the one the previous key of that class had (tokens hold keys
 * in runs of one type), checked through CKA_KEY_TYPE in the same read; only a wrong guess
 * costs another read. No per-object look-ups. (Searches cost SoftHSM a pass over every
 * object, so a search per key type would cost more than the rare second read.)
 */
import { curveFromEcParams } from "../asn1/curves.js";
import type { AttributeName, AttributeValues } from "../pkcs11/attributes.js";
import { isCkr } from "../pkcs11/ckr.js";
import type { Handle } from "../pkcs11/lib.js";
import type { ObjectClass } from "../pkcs11/names.js";
import { CLASS_VALUES, keyTypeName, URI_TYPES } from "../pkcs11/names.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { TokenDescription } from "../pkcs11/select.js";
import { formatPkcs11Uri } from "../pkcs11/uri.js";
import { bitLength } from "../asn1/bytes.js";

export const OBJECT_TYPES = ["cert", "privkey", "pubkey", "secret", "data"] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

const CLASS_OF_TYPE: Readonly<Record<ObjectType, ObjectClass>> = {
  cert: "certificate",
  privkey: "private-key",
  pubkey: "public-key",
  secret: "secret-key",
  data: "data",
};

export interface ListObjectsOptions {
  type?: ObjectType | undefined;
  id?: Uint8Array | undefined;
  label?: string | undefined;
}

export interface ObjectJson {
  class: ObjectClass;
  label: string;
  id: string;
  keyType?: string;
  bits?: number;
  curve?: string;
  usage: string[];
  private: boolean;
  sensitive?: boolean;
  extractable?: boolean;
  subject?: string;
  issuer?: string;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  uri: string;
}

/** Key types with a template of their own, per key class, in the order they are tried. */
const KEY_TYPES_BY_CLASS: Partial<Record<ObjectClass, readonly string[]>> = {
  "private-key": ["rsa", "ec", "ec-edwards"],
  "public-key": ["rsa", "ec", "ec-edwards"],
  "secret-key": ["aes", "generic-secret"],
};

const COMMON: readonly AttributeName[] = ["label", "id", "private"];
const USAGE: readonly AttributeName[] = [
  "sign",
  "verify",
  "encrypt",
  "decrypt",
  "derive",
  "wrap",
  "unwrap",
];

/**
 * Usage attributes each class has: asking a public key for CKA_SIGN is CKR_ATTRIBUTE_TYPE_INVALID
 * on SoftHSM, which would cost a read per attribute instead of one per object.
 */
const USAGE_OF_CLASS: Partial<Record<ObjectClass, readonly AttributeName[]>> = {
  "private-key": ["sign", "decrypt", "derive", "unwrap"],
  "public-key": ["verify", "encrypt", "derive", "wrap"],
  "secret-key": USAGE,
};

/** The one template each kind of object is read with. */
function templateFor(cls: ObjectClass, keyType: string | undefined): AttributeName[] {
  if (cls === "certificate") return [...COMMON, "value"];
  // Data objects have no CKA_ID (SoftHSM, tpm2-pkcs11: CKR_ATTRIBUTE_TYPE_INVALID).
  if (cls === "data") return ["label", "private", "application"];
  const names: AttributeName[] = [...COMMON, ...(USAGE_OF_CLASS[cls] ?? []), "keyType"];
  if (cls !== "public-key") names.push("sensitive", "extractable");
  if (keyType === "rsa") names.push("modulus");
  else if (keyType === "ec" || keyType === "ec-edwards") names.push("ecParams");
  else if (cls === "secret-key") names.push("valueLen");
  return names;
}

interface Found {
  handle: Handle;
  cls: ObjectClass;
}

function findAll(session: TokenSession, options: ListObjectsOptions): Found[] {
  const filter = { id: options.id, label: options.label };
  const classes = options.type
    ? [CLASS_OF_TYPE[options.type]]
    : (Object.keys(CLASS_VALUES) as ObjectClass[]);
  return classes.flatMap((cls) =>
    session.findObjects({ ...filter, class: CLASS_VALUES[cls] }).map((handle) => ({ handle, cls })),
  );
}

/**
 * Reads an object with the template of its class (and, for keys, of the guessed key type).
 * `guesses` remembers the last key type seen per class.
 */
function readObject(
  session: TokenSession,
  found: Found,
  guesses: Map<ObjectClass, string>,
): AttributeValues {
  const kinds = KEY_TYPES_BY_CLASS[found.cls];
  if (!kinds) return session.read(found.handle, templateFor(found.cls, undefined));
  const guess = guesses.get(found.cls);
  const order = guess ? [guess, ...kinds.filter((kind) => kind !== guess)] : kinds;
  for (const keyType of order) {
    const values: AttributeValues | undefined = session.tryRead(
      found.handle,
      templateFor(found.cls, keyType),
    );
    if (values?.keyType !== undefined && keyTypeName(values.keyType) === keyType) {
      guesses.set(found.cls, keyType);
      return values;
    }
  }
  // A key type without a template of its own: read what there is, attribute by attribute.
  return session.read(found.handle, templateFor(found.cls, undefined));
}

/**
 * An object another process destroyed (or rewrote: SoftHSM gives a token object a new handle
 * when another process changes it) between the search and the read is left out, not an error.
 */
function readUnlessGone(
  session: TokenSession,
  found: Found,
  guesses: Map<ObjectClass, string>,
): AttributeValues | undefined {
  try {
    return readObject(session, found, guesses);
  } catch (error) {
    if (isCkr(error, "CKR_OBJECT_HANDLE_INVALID")) return undefined;
    throw error;
  }
}

function describeKey(found: Found, values: AttributeValues): Partial<ObjectJson> {
  const keyType = values.keyType === undefined ? undefined : keyTypeName(values.keyType);
  const key: Partial<ObjectJson> = { keyType };
  if (values.modulus) key.bits = bitLength(values.modulus);
  if (values.ecParams) {
    const curve = curveFromEcParams(values.ecParams);
    if (curve) key.curve = curve.name;
  }
  if (values.valueLen !== undefined) key.bits = values.valueLen * 8;
  if (found.cls !== "public-key") {
    if (values.sensitive !== undefined) key.sensitive = values.sensitive;
    if (values.extractable !== undefined) key.extractable = values.extractable;
  }
  return key;
}

/** The contract's key order, so JSON reads the same whatever the object. */
const KEY_ORDER: readonly (keyof ObjectJson)[] = [
  "class",
  "label",
  "id",
  "keyType",
  "bits",
  "curve",
  "usage",
  "private",
  "sensitive",
  "extractable",
  "subject",
  "issuer",
  "serial",
  "notBefore",
  "notAfter",
  "uri",
];

function ordered(item: Partial<ObjectJson>): ObjectJson {
  const out: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (item[key] !== undefined) out[key] = item[key];
  return out as unknown as ObjectJson;
}

type CertificateFields = Pick<
  ObjectJson,
  "subject" | "issuer" | "serial" | "notBefore" | "notAfter"
>;

/** Certificates' fields, with the ASN.1 stack loaded only when there is a certificate. */
async function certificateReader(): Promise<(der: Uint8Array) => CertificateFields> {
  const { parseCertificate } = await import("../asn1/cert.js");
  return (der) => {
    try {
      const cert = parseCertificate(der);
      return {
        subject: cert.subject,
        issuer: cert.issuer,
        serial: cert.serialHex,
        notBefore: isoSeconds(cert.notBefore),
        notAfter: isoSeconds(cert.notAfter),
      };
    } catch {
      // A certificate object whose value does not parse is still listed, without fields.
      return {};
    }
  };
}

/** ISO 8601 UTC without milliseconds: 2027-01-31T12:00:00Z. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** An object as listed, with its handle for commands that act on it (delete-object). */
export interface ListedObject {
  handle: Handle;
  object: ObjectJson;
}

export async function findListedObjects(
  session: TokenSession,
  token: TokenDescription,
  options: ListObjectsOptions,
): Promise<ListedObject[]> {
  const found = findAll(session, options);
  const readCertificate = found.some((item) => item.cls === "certificate")
    ? await certificateReader()
    : undefined;
  const guesses = new Map<ObjectClass, string>();
  const listed = found.flatMap((item) => {
    const values = readUnlessGone(session, item, guesses);
    if (!values) return [];
    const id = values.id ?? Buffer.alloc(0);
    const label = values.label ?? "";
    const common: Partial<ObjectJson> = {
      class: item.cls,
      label,
      id: id.toString("hex"),
      usage: USAGE.filter((name) => values[name] === true),
      private: values.private ?? false,
      uri: formatPkcs11Uri(token, { label, id, type: URI_TYPES[item.cls] }),
    };
    let object: ObjectJson;
    if (item.cls === "certificate") {
      object = ordered({
        ...common,
        ...(values.value && readCertificate ? readCertificate(values.value) : {}),
      });
    } else if (item.cls === "data") object = ordered(common);
    else object = ordered({ ...common, ...describeKey(item, values) });
    return [{ handle: item.handle, object }];
  });
  return listed.sort((a, b) => compareObjects(a.object, b.object));
}

export async function runListObjects(
  session: TokenSession,
  token: TokenDescription,
  options: ListObjectsOptions,
): Promise<ObjectJson[]> {
  return (await findListedObjects(session, token, options)).map((listed) => listed.object);
}

const CLASS_ORDER: readonly ObjectClass[] = [
  "private-key",
  "public-key",
  "certificate",
  "secret-key",
  "data",
];

/** Grouped by id, so a key pair and its certificate stand together. */
function compareObjects(a: ObjectJson, b: ObjectJson): number {
  return (
    compareText(a.id, b.id) ||
    CLASS_ORDER.indexOf(a.class) - CLASS_ORDER.indexOf(b.class) ||
    compareText(a.label, b.label)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
