/**
 * Finding the one key a command works with: by label (-k/--key), --id, or the object part
 * of --uri. Several matches are ambiguous (exit 2), none is not found (exit 3).
 */
import { curveFromEcParams } from "../asn1/curves.js";
import { TspError } from "../errors.js";
import type { Handle } from "../pkcs11/lib.js";
import type { ObjectClass } from "../pkcs11/names.js";
import { CLASS_VALUES, keyTypeName, URI_TYPES } from "../pkcs11/names.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { Pkcs11Uri, UriObjectType } from "../pkcs11/uri.js";
import { agreeing } from "../pkcs11/uri.js";
import { bitLength } from "../asn1/bytes.js";

export interface KeySelector {
  label?: string | undefined;
  id?: Uint8Array | undefined;
  /** The URI's type=: only objects of that class match. */
  type?: UriObjectType | undefined;
}

export interface TokenKey {
  handle: Handle;
  cls: ObjectClass;
  keyType: string;
  label: string;
  id: Uint8Array;
  /** RSA modulus size. */
  bits?: number | undefined;
  /** OpenSSL curve name for EC and Edwards keys. */
  curve?: string | undefined;
  /**
   * Of a private key, the public keys the same search found (same label or id), with their
   * ids: its public half is usually among them, which spares a search for it.
   */
  publicKeys?: KeyWithId[];
}

export interface KeyWithId {
  handle: Handle;
  id: Uint8Array | undefined;
}

/**
 * The object named by a label option, --id and the URI's object=, id= and type=: an option
 * and the URI attribute for the same thing must agree (exit 2 otherwise).
 */
export function keySelectorOf(
  label: string | undefined,
  id: Uint8Array | undefined,
  uri: Pkcs11Uri | undefined,
  labelOption = "-k/--key",
): KeySelector {
  const selector: KeySelector = {
    label: agreeing(labelOption, label, "object", uri?.object),
    id: agreeing("--id", id, "id", uri?.id),
    type: uri?.type,
  };
  if (selector.label === undefined && selector.id === undefined) {
    throw new TspError(
      "usage",
      `name the object with ${labelOption} <label>, --id <hex> or --uri with object= or id=`,
    );
  }
  return selector;
}

export function describeKeySelector(selector: KeySelector): string {
  const parts: string[] = [];
  if (selector.label !== undefined) parts.push(`label "${selector.label}"`);
  if (selector.id !== undefined) parts.push(`id ${Buffer.from(selector.id).toString("hex")}`);
  return parts.join(" and ");
}

/**
 * What to say when several objects match: the selector not yet used, or, when label and id
 * are both given, that nothing tsp11 selects by tells them apart.
 */
export function ambiguity(count: number, what: string, selector: KeySelector): string {
  const matched = `${count} ${what}s match ${describeKeySelector(selector)}`;
  if (selector.id === undefined) return `${matched}; name one by --id (or a URI with id=)`;
  if (selector.label === undefined) {
    return `${matched}; name one by its label (or a URI with object=)`;
  }
  return `${matched}: they share label and id, so no selector tells them apart; delete or relabel the extra ones`;
}

/** The URI's type= names another class than the command works with: nothing of it matches. */
export function typeExcludes(selector: KeySelector, cls: ObjectClass): boolean {
  return selector.type !== undefined && selector.type !== URI_TYPES[cls];
}

/** The one object of a class that the selector names. */
export function findKey(session: TokenSession, cls: ObjectClass, selector: KeySelector): TokenKey {
  const what = classNoun(cls);
  if (typeExcludes(selector, cls)) {
    throw new TspError(
      "not-found",
      `find key: the URI names an object of type=${selector.type ?? ""}, not a ${what}`,
    );
  }
  const found = searchKeys(session, cls, selector);
  let handles = found.keys;
  if (handles.length === 0) handles = keysOfLabelledCertificates(session, cls, selector);
  if (handles.length === 0) {
    throw new TspError(
      "not-found",
      `find key: no ${what} with ${describeKeySelector(selector)} on the token${wrongClassHint(session, selector, cls)}`,
    );
  }
  if (handles.length > 1) {
    throw new TspError("usage", `find key: ${ambiguity(handles.length, what, selector)}`);
  }
  const [handle] = handles as [Handle];
  const values = session.read(handle, ["keyType", "label", "id"]);
  const keyType = values.keyType === undefined ? "unknown" : keyTypeName(values.keyType);
  // The size attribute of the key's own type: asking an EC key for CKA_MODULUS would fail the
  // whole read and cost one read per attribute.
  const { modulus } = keyType === "rsa" ? session.read(handle, ["modulus"]) : {};
  const { ecParams } =
    keyType === "ec" || keyType === "ec-edwards" || keyType === "ec-montgomery"
      ? session.read(handle, ["ecParams"])
      : {};
  return {
    handle,
    cls,
    keyType,
    label: values.label ?? "",
    id: values.id ?? new Uint8Array(0),
    bits: modulus ? bitLength(modulus) : undefined,
    curve: ecParams ? curveFromEcParams(ecParams)?.name : undefined,
    ...(found.publicKeys ? { publicKeys: found.publicKeys } : {}),
  };
}

/**
 * The keys of the class that the selector names. A private key named by label or id is
 * searched for whatever the class, its class read from the few matches: its public half
 * (same label and id, as keygen makes them) comes with it, and each search costs SoftHSM a
 * pass over every object on the token.
 */
function searchKeys(
  session: TokenSession,
  cls: ObjectClass,
  selector: KeySelector,
): { keys: Handle[]; publicKeys?: KeyWithId[] } {
  const query = { label: selector.label, id: selector.id };
  if (cls !== "private-key" || (selector.label === undefined && selector.id === undefined)) {
    return { keys: session.findObjects({ ...query, class: CLASS_VALUES[cls] }) };
  }
  const keys: Handle[] = [];
  const publicKeys: KeyWithId[] = [];
  for (const handle of session.findObjects(query)) {
    // The id with the class, in one read: publicMaterialOf matches the public half by it.
    const { class: found, id } = session.read(handle, ["class", "id"]);
    if (found === CLASS_VALUES["private-key"]) keys.push(handle);
    else if (found === CLASS_VALUES["public-key"]) publicKeys.push({ handle, id });
  }
  return { keys, publicKeys };
}

/** An object class in words: "secret key", "certificate", "data object". */
function classNoun(cls: ObjectClass): string {
  return cls === "data" ? "data object" : cls.replace("-", " ");
}

/** An object's class in words, with the key type for keys: "secret key (aes)". */
function describeClass(
  session: TokenSession,
  handle: Handle,
): { cls: ObjectClass; words: string } | undefined {
  const { class: value, keyType } = session.read(handle, ["class", "keyType"]);
  const cls = (Object.keys(CLASS_VALUES) as ObjectClass[]).find(
    (name) => CLASS_VALUES[name] === value,
  );
  if (cls === undefined) return undefined;
  const words = classNoun(cls);
  return { cls, words: keyType === undefined ? words : `${words} (${keyTypeName(keyType)})` };
}

/**
 * When nothing of `cls` matches: what the selector does name, by class ("that key is a
 * secret key (aes)"), so a user who named the wrong key learns which one it is. Empty when
 * nothing matches at all (or the search fails: the not-found error stays the answer).
 */
export function wrongClassHint(
  session: TokenSession,
  selector: KeySelector,
  cls: ObjectClass,
): string {
  try {
    const others = session
      .findObjects({ label: selector.label, id: selector.id })
      .map((handle) => describeClass(session, handle))
      .filter((other) => other !== undefined && other.cls !== cls)
      .map((other) => other?.words ?? "");
    const unique = [...new Set(others)];
    if (unique.length === 0) return "";
    if (others.length === 1) {
      const noun = others[0]?.includes(" key") ? "key" : "object";
      return `: that ${noun} is a ${others[0] ?? ""}`;
    }
    return `: what it names is: ${unique.join(", ")}`;
  } catch {
    return "";
  }
}

/**
 * NSS keeps a key's name on its certificate only (the key has no CKA_LABEL): a key pair's
 * halves are found through the certificates of that label, by their CKA_ID. Only asked when
 * no key of the class carries the label itself.
 */
function keysOfLabelledCertificates(
  session: TokenSession,
  cls: ObjectClass,
  selector: KeySelector,
): Handle[] {
  if (selector.label === undefined || (cls !== "private-key" && cls !== "public-key")) return [];
  const certificates = session.findObjects({
    class: CLASS_VALUES.certificate,
    label: selector.label,
    id: selector.id,
  });
  const ids = new Set<string>();
  for (const certificate of certificates) {
    const { id } = session.read(certificate, ["id"]);
    // A certificate without an id names no key.
    if (id !== undefined && id.length > 0) ids.add(Buffer.from(id).toString("hex"));
  }
  return [...ids].flatMap((hex) =>
    session.findObjects({ class: CLASS_VALUES[cls], id: Buffer.from(hex, "hex") }),
  );
}

/**
 * The private key, or with `publicFallback` (verify) the public key when the token holds
 * no private key of that name: a public key object alone is enough to verify. A secret key
 * of that name (HMAC) when there is neither.
 */
export function findSigningKey(
  session: TokenSession,
  selector: KeySelector,
  publicFallback = false,
): TokenKey {
  try {
    return findKey(session, "private-key", selector);
  } catch (error) {
    if (!(error instanceof TspError) || error.kind !== "not-found") throw error;
    if (publicFallback) {
      try {
        return findKey(session, "public-key", selector);
      } catch (inner) {
        if (!(inner instanceof TspError) || inner.kind !== "not-found") throw inner;
      }
    }
    return findSecretKeyOr(session, selector, error);
  }
}

/** The secret key the selector names, or `notFound` (the asymmetric search's error) when none. */
function findSecretKeyOr(
  session: TokenSession,
  selector: KeySelector,
  notFound: TspError,
): TokenKey {
  try {
    return findKey(session, "secret-key", selector);
  } catch (error) {
    if (error instanceof TspError && error.kind === "not-found") throw notFound;
    throw error;
  }
}
