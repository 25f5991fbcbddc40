/**
 * read-object: a certificate (its CKA_VALUE), a public key (as SubjectPublicKeyInfo, built
 * from the key's attributes; a private key's public half serves too) or a data object's value.
 */
import { toPem } from "../asn1/pem.js";
import { spkiToPem } from "../asn1/spki.js";
import { TspError } from "../errors.js";
import type { Handle } from "../pkcs11/lib.js";
import type { ObjectClass } from "../pkcs11/names.js";
import { CLASS_VALUES, URI_TYPES } from "../pkcs11/names.js";
import type { TokenScope } from "../pkcs11/token.js";
import { formatPkcs11Uri } from "../pkcs11/uri.js";
import type { KeySelector } from "./find-key.js";
import { ambiguity, describeKeySelector, typeExcludes } from "./find-key.js";
import { publicMaterialOf, readPublicMaterial, spkiOf } from "./public-key.js";

export const READ_TYPES = ["cert", "pubkey", "data"] as const;
export type ReadType = (typeof READ_TYPES)[number];

export interface ReadObjectResult {
  class: ObjectClass;
  id: string;
  label: string;
  /** DER of the certificate or SubjectPublicKeyInfo; the raw value of a data object. */
  bytes: Uint8Array;
  /** PEM for certificates and public keys. */
  pem?: string;
  uri: string;
  /** A private (CKA_PRIVATE) data object's value: written to a 0600 file, not in the JSON. */
  secret?: boolean;
}

/**
 * The one object of a class the selector names. Several that hold the same value (two copies
 * of one certificate) read the same bytes, so the first is as good as any; several that
 * differ are ambiguous (exit 2), and the message names the selector that would tell them apart.
 */
function findOne(scope: TokenScope, cls: ObjectClass, selector: KeySelector): Handle | undefined {
  if (typeExcludes(selector, cls)) return undefined;
  const handles = scope.session.findObjects({
    class: CLASS_VALUES[cls],
    label: selector.label,
    id: selector.id,
  });
  if (handles.length > 1 && !sameValues(scope, cls, handles)) {
    const what = cls.replace("-", " ");
    throw new TspError("usage", `read-object: ${ambiguity(handles.length, what, selector)}`);
  }
  return handles[0];
}

/** Whether every object holds the same value (certificates and data objects: CKA_VALUE). */
function sameValues(scope: TokenScope, cls: ObjectClass, handles: Handle[]): boolean {
  if (cls !== "certificate" && cls !== "data") return false;
  const values = handles.map((handle) => scope.session.read(handle, ["value"]).value);
  const [first] = values;
  return first !== undefined && values.every((value) => value !== undefined && first.equals(value));
}

function notFound(type: ReadType, selector: KeySelector): TspError {
  return new TspError(
    "not-found",
    `read-object: no ${type} with ${describeKeySelector(selector)} on the token`,
  );
}

function result(
  scope: TokenScope,
  cls: ObjectClass,
  handle: Handle,
  bytes: Uint8Array,
  pem?: string,
): ReadObjectResult {
  const { label = "", id = Buffer.alloc(0) } = scope.session.read(
    handle,
    cls === "data" ? ["label"] : ["label", "id"],
  );
  return {
    class: cls,
    id: id.toString("hex"),
    label,
    bytes,
    ...(pem === undefined ? {} : { pem }),
    uri: formatPkcs11Uri(scope.token, { label, id, type: URI_TYPES[cls] }),
  };
}

function readCertificate(scope: TokenScope, selector: KeySelector): ReadObjectResult {
  const handle = findOne(scope, "certificate", selector);
  if (!handle) throw notFound("cert", selector);
  const { value } = scope.session.read(handle, ["value"]);
  if (!value) throw new TspError("failure", "read-object: the certificate has no readable value");
  return result(scope, "certificate", handle, value, toPem(value, "CERTIFICATE"));
}

function readPublicKey(scope: TokenScope, selector: KeySelector): ReadObjectResult {
  const publicKey = findOne(scope, "public-key", selector);
  const material = publicKey ? readPublicMaterial(scope.session, publicKey) : undefined;
  if (publicKey && material) {
    const spki = spkiOf(material);
    return result(scope, "public-key", publicKey, spki, spkiToPem(spki));
  }
  // No public key object (or the URI names the private key): the private key's public half
  // (RSA carries it; EC by its id).
  const privateKey = findOne(scope, "private-key", selector);
  if (!privateKey) throw notFound("pubkey", selector);
  const { id } = scope.session.read(privateKey, ["id"]);
  const spki = spkiOf(publicMaterialOf(scope.session, privateKey, id));
  return {
    ...result(scope, "private-key", privateKey, spki, spkiToPem(spki)),
    class: "public-key",
  };
}

function readData(scope: TokenScope, selector: KeySelector): ReadObjectResult {
  if (selector.label === undefined)
    throw new TspError("usage", "read-object: a data object is named by --label");
  // Data objects have no CKA_ID: a selector with an id matches none of them.
  const handle = findOne(scope, "data", selector);
  if (!handle) throw notFound("data", selector);
  const { value, private: secret } = scope.session.read(handle, ["value", "private"]);
  if (!value)
    throw new TspError(
      "auth",
      "read-object: the data object's value is not readable (private: give a PIN)",
    );
  return { ...result(scope, "data", handle, value), secret: secret !== false };
}

export function runReadObject(
  scope: TokenScope,
  type: ReadType,
  selector: KeySelector,
): ReadObjectResult {
  if (type === "cert") return readCertificate(scope, selector);
  if (type === "pubkey") return readPublicKey(scope, selector);
  return readData(scope, selector);
}
