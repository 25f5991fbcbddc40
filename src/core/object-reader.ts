/**
 * Reads listed objects with one templated read each, without knowing their class first.
 *
 * A search costs SoftHSM a pass over every object (~25 us each), so one search for all objects
 * beats one per class, but then each object's class is unknown when it is read, and the
 * attributes worth reading depend on it (a data object has no CKA_ID, a public key no
 * CKA_SIGN: asking for them fails the whole read). So each read guesses the object's kind
 * (class, and key type for keys), with CKA_CLASS and CKA_KEY_TYPE in the template to check the
 * guess. Guesses follow the kinds seen most recently; a refused template costs about as much as
 * a read (one C call instead of two, and the error). After a few wrong guesses the class is
 * read on its own.
 */
import type { AttributeName, AttributeValues } from "../pkcs11/attributes.js";
import type { Handle } from "../pkcs11/lib.js";
import type { ObjectClass } from "../pkcs11/names.js";
import { CLASS_VALUES, keyTypeName } from "../pkcs11/names.js";
import type { TokenSession } from "../pkcs11/session.js";

/** What decides an object's template: its class, and for keys the key type. */
interface ObjectKind {
  cls: ObjectClass;
  keyType?: string;
}

/** The kinds with a template of their own, in the order they are first tried. */
const KINDS: readonly ObjectKind[] = [
  { cls: "private-key", keyType: "rsa" },
  { cls: "public-key", keyType: "rsa" },
  { cls: "certificate" },
  { cls: "private-key", keyType: "ec" },
  { cls: "public-key", keyType: "ec" },
  { cls: "data" },
  { cls: "secret-key", keyType: "aes" },
  { cls: "private-key", keyType: "ec-edwards" },
  { cls: "public-key", keyType: "ec-edwards" },
  { cls: "secret-key", keyType: "generic-secret" },
];

/** Wrong guesses before the class is read on its own. */
const GUESSES = 3;

export const USAGE: readonly AttributeName[] = [
  "sign",
  "verify",
  "encrypt",
  "decrypt",
  "derive",
  "wrap",
  "unwrap",
];

/** Usage attributes each class has (asking a public key for CKA_SIGN fails the read). */
const USAGE_OF_CLASS: Partial<Record<ObjectClass, readonly AttributeName[]>> = {
  "private-key": ["sign", "decrypt", "derive", "unwrap", "signRecover"],
  "public-key": ["verify", "encrypt", "derive", "wrap", "verifyRecover"],
  "secret-key": USAGE,
};

const KEY_CLASSES: ReadonlySet<ObjectClass> = new Set(["private-key", "public-key", "secret-key"]);

/**
 * The one template each kind is read with; a key without a known type gets no size field.
 * `allowed`: the module has CKA_ALLOWED_MECHANISMS for this class (one more attribute in the
 * same read costs nothing; asking a module that lacks it would fail every read).
 */
function templateFor(kind: ObjectKind, allowed = false): AttributeName[] {
  const { cls, keyType } = kind;
  if (cls === "certificate") return ["class", "label", "id", "private", "value"];
  // Data objects have no CKA_ID (SoftHSM, tpm2-pkcs11: CKR_ATTRIBUTE_TYPE_INVALID).
  if (cls === "data") return ["class", "label", "private"];
  const usage = USAGE_OF_CLASS[cls] ?? [];
  const names: AttributeName[] = ["class", "label", "id", "private", ...usage, "keyType"];
  if (cls !== "public-key") names.push("sensitive", "extractable");
  if (cls === "private-key") names.push("alwaysAuthenticate");
  if (keyType === "rsa") names.push("modulus");
  else if (keyType === "ec" || keyType === "ec-edwards" || keyType === "ec-montgomery")
    names.push("ecParams");
  else if (cls === "secret-key") names.push("valueLen");
  if (allowed) names.push("allowedMechanisms");
  return names;
}

export const CLASS_OF_VALUE = new Map(
  (Object.entries(CLASS_VALUES) as [ObjectClass, number][]).map(([cls, value]) => [value, cls]),
);

function isKind(values: AttributeValues, kind: ObjectKind): boolean {
  if (values.class !== CLASS_VALUES[kind.cls]) return false;
  if (kind.keyType === undefined) return true;
  return values.keyType !== undefined && keyTypeName(values.keyType) === kind.keyType;
}

export interface ReadObject {
  cls: ObjectClass;
  values: AttributeValues;
}

/** What is known of an object's class before reading it: for certain, or likely. */
export interface ClassHint {
  cls: ObjectClass;
  certain: boolean;
}

export class ObjectReader {
  readonly #session: TokenSession;
  /** Most recently seen first: tokens hold objects in runs and pairs. */
  readonly #order: ObjectKind[] = [...KINDS];
  /** Templates refused or of the wrong kind so far: what guessing has cost. */
  refusals = 0;
  /** Objects read so far, per class. */
  readonly seen = new Map<ObjectClass, number>();
  /** Per key class, whether the module has CKA_ALLOWED_MECHANISMS; unknown until a key of it. */
  readonly #allowed = new Map<ObjectClass, boolean>();

  constructor(session: TokenSession) {
    this.#session = session;
  }

  /**
   * The object's class and attributes; undefined for a class the listing does not show
   * (hardware features, domain parameters, ...). A hint puts its class's kinds first; a
   * certain one (a search by class) also spares reading the class.
   */
  read(handle: Handle, hint?: ClassHint): ReadObject | undefined {
    const tried = new Set<ObjectKind>();
    for (const kind of this.#guesses(hint)) {
      const found = this.#tryKind(handle, kind, tried);
      if (found) return this.#counted(this.#withAllowedMechanisms(handle, found));
    }
    const actual = hint?.certain
      ? hint.cls
      : CLASS_OF_VALUE.get(this.#session.read(handle, ["class"]).class ?? -1);
    if (!actual) return undefined;
    for (const kind of this.#order.filter((k) => k.cls === actual && !tried.has(k))) {
      const found = this.#tryKind(handle, kind, tried);
      if (found) return this.#counted(this.#withAllowedMechanisms(handle, found));
    }
    // A key type without a template of its own: read what there is, attribute by attribute.
    const allowed = this.#allowed.get(actual) === true;
    const values = this.#session.read(handle, templateFor({ cls: actual }, allowed));
    return this.#counted(this.#withAllowedMechanisms(handle, { cls: actual, values }));
  }

  /**
   * The first key of a class learns, in a read of its own, whether the module has
   * CKA_ALLOWED_MECHANISMS; later keys of the class read it in their one template, or never.
   */
  #withAllowedMechanisms(handle: Handle, read: ReadObject): ReadObject {
    if (!KEY_CLASSES.has(read.cls) || this.#allowed.has(read.cls)) return read;
    const extra = this.#session.tryRead(handle, ["allowedMechanisms"]);
    this.#allowed.set(read.cls, extra !== undefined);
    if (extra?.allowedMechanisms) read.values.allowedMechanisms = extra.allowedMechanisms;
    return read;
  }

  #guesses(hint: ClassHint | undefined): ObjectKind[] {
    if (!hint) return this.#order.slice(0, GUESSES);
    const first = this.#order.filter((kind) => kind.cls === hint.cls);
    const rest = hint.certain ? [] : this.#order.filter((kind) => kind.cls !== hint.cls);
    return [...first, ...rest].slice(0, GUESSES);
  }

  #tryKind(handle: Handle, kind: ObjectKind, tried: Set<ObjectKind>): ReadObject | undefined {
    tried.add(kind);
    // A key of a class that has the attribute but not on this key ends in the per-attribute read.
    const values = this.#session.tryRead(handle, templateFor(kind, this.#allowed.get(kind.cls)));
    if (!values || !isKind(values, kind)) {
      this.refusals++;
      return undefined;
    }
    this.#promote(kind);
    return { cls: kind.cls, values };
  }

  #counted(read: ReadObject): ReadObject {
    this.seen.set(read.cls, (this.seen.get(read.cls) ?? 0) + 1);
    return read;
  }

  #promote(kind: ObjectKind): void {
    const at = this.#order.indexOf(kind);
    if (at > 0) {
      this.#order.splice(at, 1);
      this.#order.unshift(kind);
    }
  }
}
