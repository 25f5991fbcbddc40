/**
 * Finding the one key a command works with: by label (-i/--key), --id, or the object part
 * of --uri. Several matches are ambiguous (exit 2), none is not found (exit 3).
 */
import { curveFromEcParams } from "../asn1/curves.js";
import { TspError } from "../errors.js";
import type { Handle } from "../pkcs11/lib.js";
import type { ObjectClass } from "../pkcs11/names.js";
import { CLASS_VALUES, keyTypeName } from "../pkcs11/names.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { Pkcs11Uri } from "../pkcs11/uri.js";
import { bitLength } from "../asn1/bytes.js";

export interface KeySelector {
  label?: string | undefined;
  id?: Uint8Array | undefined;
  uri?: Pkcs11Uri | undefined;
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
}

export function keySelectorOf(
  label: string | undefined,
  id: Uint8Array | undefined,
  uri: Pkcs11Uri | undefined,
  labelOption = "-i/--key",
): KeySelector {
  const selector: KeySelector = {
    label: label ?? uri?.object,
    id: id ?? uri?.id,
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

/** The one object of a class that the selector names. */
export function findKey(session: TokenSession, cls: ObjectClass, selector: KeySelector): TokenKey {
  const handles = session.findObjects({
    class: CLASS_VALUES[cls],
    label: selector.label,
    id: selector.id,
  });
  const what = cls.replace("-", " ");
  if (handles.length === 0) {
    throw new TspError(
      "not-found",
      `find key: no ${what} with ${describeKeySelector(selector)} on the token`,
    );
  }
  if (handles.length > 1) {
    throw new TspError(
      "usage",
      `find key: ${handles.length} ${what}s match ${describeKeySelector(selector)}; name one by --id`,
    );
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
  };
}

/**
 * The private key, or with `publicFallback` (verify) the public key when the token holds
 * no private key of that name: a public key object alone is enough to verify.
 */
export function findSigningKey(
  session: TokenSession,
  selector: KeySelector,
  publicFallback = false,
): TokenKey {
  try {
    return findKey(session, "private-key", selector);
  } catch (error) {
    if (!publicFallback || !(error instanceof TspError) || error.kind !== "not-found") throw error;
    return findKey(session, "public-key", selector);
  }
}
