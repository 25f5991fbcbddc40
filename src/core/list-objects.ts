/**
 * Object listing, linear in the number of objects: one search (SoftHSM pays a pass over every
 * object per search), then one templated read per object (ObjectReader), then the contract's
 * JSON, sorted so a key pair and its certificate stand together. No per-object look-ups.
 */
import { curveFromEcParams } from "../asn1/curves.js";
import type { AttributeValues } from "../pkcs11/attributes.js";
import { ulongList } from "../pkcs11/attributes.js";
import { isCkr } from "../pkcs11/ckr.js";
import { isIncompleteId } from "../pkcs11/keys.js";
import { mechanismName } from "../pkcs11/mechanisms.js";
import type { Handle } from "../pkcs11/lib.js";
import type { ObjectClass } from "../pkcs11/names.js";
import { CLASS_VALUES, keyTypeName, URI_TYPES } from "../pkcs11/names.js";
import type { ClassHint, ReadObject } from "./object-reader.js";
import { CLASS_OF_VALUE, ObjectReader, USAGE } from "./object-reader.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { TokenDescription } from "../pkcs11/select.js";
import { formatPkcs11Uri } from "../pkcs11/uri.js";
import { bitLength } from "../asn1/bytes.js";
import { isTokenLockHeld, lockKeyOf, withTokenLock } from "../pkcs11/token-lock.js";
import type { TokenScope } from "../pkcs11/token.js";

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
  /** CKA_ALWAYS_AUTHENTICATE, shown when true. */
  alwaysAuthenticate?: boolean;
  /** CKA_ALLOWED_MECHANISMS by list-mechanisms' names, shown when the key has a list. */
  allowedMechanisms?: string[];
  subject?: string;
  issuer?: string;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  uri: string;
  /** Only when true: a key a killed keygen left with the provisional id (INCOMPLETE_ID). */
  incomplete?: true | undefined;
}

/** One search: for every object, or for one class with --type. */
function findAll(session: TokenSession, options: ListObjectsOptions): Handle[] {
  const cls = options.type ? CLASS_OF_TYPE[options.type] : undefined;
  return session.findObjects({ ...filterOf(options), class: cls ? CLASS_VALUES[cls] : undefined });
}

function filterOf(options: ListObjectsOptions): { id?: Uint8Array; label?: string } {
  return { id: options.id, label: options.label };
}

/** Objects read by guessing before weighing a search per class instead. */
const SAMPLE = 256;
/** With fewer objects left to read, wrong guesses cost less than another search. */
const LARGE_REST = 2048;
/**
 * Wrong guesses per object above which searching is cheaper: on SoftHSM a search costs about
 * 25 us per object on the token, a refused read about as much as a read (~75 us).
 */
const REFUSALS_WORTH_A_SEARCH = 0.33;

/** After the sample: are there objects enough left, and guesses wrong often enough? */
function searchPays(total: number, reader: ObjectReader): boolean {
  return total - SAMPLE >= LARGE_REST && reader.refusals > SAMPLE * REFUSALS_WORTH_A_SEARCH;
}

type Hints = (handle: Handle) => ClassHint | undefined;

/**
 * When a large token's objects come in no order (SoftHSM returns them in directory order),
 * guesses fail often: then one search per class seen, but the commonest, tells the rest of the
 * objects' classes, and the commonest class is the likely one of any other object.
 */
function classHints(
  session: TokenSession,
  options: ListObjectsOptions,
  reader: ObjectReader,
): Hints | undefined {
  const bySize = [...reader.seen.entries()].sort((a, b) => b[1] - a[1]).map(([cls]) => cls);
  const [commonest, ...others] = bySize;
  if (!commonest) return undefined;
  const known = new Map<string, ObjectClass>();
  for (const cls of others) {
    const query = { ...filterOf(options), class: CLASS_VALUES[cls] };
    for (const handle of session.findObjects(query)) known.set(handle.toString("hex"), cls);
  }
  const likely: ClassHint = { cls: commonest, certain: false };
  return (handle) => {
    const cls = known.get(handle.toString("hex"));
    return cls ? { cls, certain: true } : likely;
  };
}

/**
 * An object another process destroyed (or rewrote: SoftHSM gives a token object a new handle
 * when another process changes it) between the search and the read is left out, not an error.
 */
function readUnlessGone(
  reader: ObjectReader,
  handle: Handle,
  hint: ClassHint | undefined,
): ReadObject | undefined {
  try {
    return reader.read(handle, hint);
  } catch (error) {
    if (isCkr(error, "CKR_OBJECT_HANDLE_INVALID")) return undefined;
    throw error;
  }
}

type CertificateFields = Pick<
  ObjectJson,
  "subject" | "issuer" | "serial" | "notBefore" | "notAfter"
>;

type CertificateReader = (der: Uint8Array) => CertificateFields;

/** Certificates' fields, with the ASN.1 stack loaded only when there is a certificate. */
async function certificateReader(): Promise<CertificateReader> {
  const { parseCertificate } = await import("../asn1/cert.js");
  return (der) => {
    try {
      const cert = parseCertificate(der, { lenient: true });
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

/**
 * Every object the options select, read under the token's lock: SoftHSM's file store misreads
 * (or crashes on) a token that another process is writing, so listings wait for writers, as
 * the one-shot list-objects does.
 */
export function findListedObjects(
  scope: TokenScope,
  options: ListObjectsOptions,
): Promise<ListedObject[]> {
  return withTokenLock(lockKeyOf(scope), "list-objects", () =>
    readListedObjects(scope.session, scope.token, options),
  );
}

async function readListedObjects(
  session: TokenSession,
  token: TokenDescription,
  options: ListObjectsOptions,
): Promise<ListedObject[]> {
  const reader = new ObjectReader(session);
  const listed: ListedObject[] = [];
  let readCertificate: CertificateReader | undefined;
  const handles = findAll(session, options);
  const typeHint: ClassHint | undefined = options.type
    ? { cls: CLASS_OF_TYPE[options.type], certain: true }
    : undefined;
  let hints: Hints | undefined;
  // Each object becomes its JSON at once: 10,000 objects' attribute buffers never pile up.
  for (const [index, handle] of handles.entries()) {
    if (!typeHint && index === SAMPLE && searchPays(handles.length, reader)) {
      hints = classHints(session, options, reader);
    }
    const item = readUnlessGone(reader, handle, typeHint ?? hints?.(handle));
    if (!item) continue;
    if (item.cls === "certificate") readCertificate ??= await certificateReader();
    listed.push({ handle, object: describe(token, item, readCertificate) });
  }
  return listed.sort((a, b) => compareObjects(a.object, b.object));
}

/**
 * One object's JSON. Keys are set in the contract's order (JSON keeps insertion order), so
 * every object reads the same; absent fields are never set.
 */
function describe(
  token: TokenDescription,
  { cls, values }: ReadObject,
  readCertificate: CertificateReader | undefined,
): ObjectJson {
  const id = values.id ?? Buffer.alloc(0);
  const label = values.label ?? "";
  const object: Partial<ObjectJson> = { class: cls, label, id: id.toString("hex") };
  const isKey = cls !== "certificate" && cls !== "data";
  if (isKey) describeKeyType(object, values);
  object.usage = USAGE.filter((name) => values[name] === true);
  if (values.signRecover === true || values.verifyRecover === true)
    object.usage.push("sign-recover");
  object.private = values.private ?? false;
  if (isKey && cls !== "public-key") {
    if (values.sensitive !== undefined) object.sensitive = values.sensitive;
    if (values.extractable !== undefined) object.extractable = values.extractable;
    if (values.alwaysAuthenticate === true) object.alwaysAuthenticate = true;
  }
  const allowed = values.allowedMechanisms ? ulongList(values.allowedMechanisms) : [];
  if (isKey && allowed.length > 0) object.allowedMechanisms = allowed.map(mechanismName);
  if (cls === "certificate" && values.value && readCertificate) {
    Object.assign(object, readCertificate(values.value));
  }
  object.uri = formatPkcs11Uri(token, { label, id, type: URI_TYPES[cls] });
  if (isKey && isIncompleteId(id)) object.incomplete = true;
  return object as ObjectJson;
}

function describeKeyType(object: Partial<ObjectJson>, values: AttributeValues): void {
  if (values.keyType !== undefined) object.keyType = keyTypeName(values.keyType);
  if (values.modulus) object.bits = bitLength(values.modulus);
  if (values.valueLen !== undefined) object.bits = values.valueLen * 8;
  const curve = values.ecParams && curveFromEcParams(values.ecParams);
  if (curve) object.curve = curve.name;
}

/** The listing's JSON of known objects (edit-object shows what it changed), in listing order. */
export async function describeHandles(
  session: TokenSession,
  token: TokenDescription,
  handles: readonly Handle[],
): Promise<ListedObject[]> {
  const reader = new ObjectReader(session);
  const listed: ListedObject[] = [];
  let readCertificate: CertificateReader | undefined;
  for (const handle of handles) {
    const item = readUnlessGone(reader, handle, undefined);
    if (!item) continue;
    if (item.cls === "certificate") readCertificate ??= await certificateReader();
    listed.push({ handle, object: describe(token, item, readCertificate) });
  }
  return listed.sort((a, b) => compareObjects(a.object, b.object));
}

/**
 * A keygen running in another process gives its keys the provisional id too, for a moment:
 * a key listed with it is incomplete only if it still has it once no keygen holds the
 * token's lock. A key that got its final id meanwhile, or is gone, is listed as complete.
 */
function stillIncomplete(scope: TokenScope, handle: Handle): boolean {
  if (isTokenLockHeld(lockKeyOf(scope))) return false;
  let id: Buffer | undefined;
  try {
    id = scope.session.read(handle, ["id"]).id;
  } catch {
    return false; // gone: a keygen undid it
  }
  return id !== undefined && isIncompleteId(id);
}

/** What the listing is sorted by: all that is kept of an object until its turn comes. */
interface SortKey {
  handle: Handle;
  cls: ObjectClass;
  id: string;
  label: string;
}

/** Reads objects' sort keys, one read each (data objects have no CKA_ID to ask for). */
class SortKeyReader {
  readonly #session: TokenSession;
  readonly #known: ObjectClass | undefined;
  /** Objects come in runs: after a data object, the next is read as one first. */
  #lastWasData = false;

  constructor(session: TokenSession, known: ObjectClass | undefined) {
    this.#session = session;
    this.#known = known;
  }

  /** The key; undefined for a class the listing does not show or an object gone meanwhile. */
  read(handle: Handle): SortKey | undefined {
    try {
      return this.#read(handle);
    } catch (error) {
      if (isCkr(error, "CKR_OBJECT_HANDLE_INVALID")) return undefined;
      throw error;
    }
  }

  #read(handle: Handle): SortKey | undefined {
    const session = this.#session;
    let cls = this.#known;
    let values: Pick<AttributeValues, "class" | "id" | "label">;
    if (cls === "data") values = session.read(handle, ["label"]);
    else if (cls) values = session.read(handle, ["id", "label"]);
    else {
      const guess = this.#lastWasData
        ? undefined
        : session.tryRead(handle, ["class", "id", "label"]);
      values = guess ?? session.read(handle, ["class", "label"]);
      cls = CLASS_OF_VALUE.get(values.class ?? -1);
      if (!cls) return undefined;
      // Read as a data object but not one: its id in a read of its own.
      if (cls !== "data" && !guess) values.id = session.read(handle, ["id"]).id;
    }
    this.#lastWasData = cls === "data";
    return {
      handle,
      cls,
      id: (values.id ?? EMPTY).toString("hex"),
      label: values.label ?? "",
    };
  }
}

const EMPTY = Buffer.alloc(0);

/** A listing written as it is read: how many objects it holds, and the objects in order. */
export interface ObjectStream {
  count: number;
  objects: AsyncIterable<ObjectJson>;
}

/**
 * The listing one object at a time, in the listing's order, for output written as objects
 * are read (memory flat in the number of objects): each object's sort key (id, class,
 * label) is read and sorted first, then each object is read whole in its turn, described,
 * its incomplete flag settled, and handed on. Keeping only the keys keeps V8's young
 * generation small too: little survives a scavenge, so it never grows to its maximum.
 */
export function streamListedObjects(scope: TokenScope, options: ListObjectsOptions): ObjectStream {
  const { session, token } = scope;
  const known = options.type ? CLASS_OF_TYPE[options.type] : undefined;
  const keyReader = new SortKeyReader(session, known);
  const keys: SortKey[] = [];
  for (const handle of findAll(session, options)) {
    const key = keyReader.read(handle);
    if (key) keys.push(key);
  }
  keys.sort(compareSortKeys);
  async function* objects(): AsyncGenerator<ObjectJson> {
    const reader = new ObjectReader(session);
    let readCertificate: CertificateReader | undefined;
    for (const key of keys) {
      const item = readUnlessGone(reader, key.handle, { cls: key.cls, certain: true });
      if (!item) continue;
      if (item.cls === "certificate") readCertificate ??= await certificateReader();
      const object = describe(token, item, readCertificate);
      if (object.incomplete && !stillIncomplete(scope, key.handle)) delete object.incomplete;
      yield object;
    }
  }
  return { count: keys.length, objects: objects() };
}

export async function runListObjects(
  scope: TokenScope,
  options: ListObjectsOptions,
): Promise<ObjectJson[]> {
  return (await findListedObjects(scope, options)).map((listed) => listed.object);
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
  return compareOrder(a.id, a.class, a.label, b.id, b.class, b.label);
}

function compareSortKeys(a: SortKey, b: SortKey): number {
  return compareOrder(a.id, a.cls, a.label, b.id, b.cls, b.label);
}

function compareOrder(
  idA: string,
  clsA: ObjectClass,
  labelA: string,
  idB: string,
  clsB: ObjectClass,
  labelB: string,
): number {
  return (
    compareText(idA, idB) ||
    CLASS_ORDER.indexOf(clsA) - CLASS_ORDER.indexOf(clsB) ||
    compareText(labelA, labelB)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
