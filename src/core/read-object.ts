/**
 * read-object: a certificate (its CKA_VALUE), a public key (as SubjectPublicKeyInfo, built
 * from the key's attributes; a private key's public half serves too), a data object's value,
 * and the secret and private keys a module lets out in the clear (extractable, not sensitive).
 */
import { toPem } from "../asn1/pem.js";
import {
  ecPrivateKeyInfo,
  privateKeyInfoToPem,
  rsaPrivateKeyInfo,
} from "../asn1/private-key-info.js";
import { spkiOf, spkiToPem } from "../asn1/spki.js";
import { TspError } from "../errors.js";
import type { Handle } from "../pkcs11/lib.js";
import type { ObjectClass } from "../pkcs11/names.js";
import { CLASS_VALUES, keyTypeName, URI_TYPES } from "../pkcs11/names.js";
import type { TokenScope } from "../pkcs11/token.js";
import { formatPkcs11Uri } from "../pkcs11/uri.js";
import type { KeySelector } from "./find-key.js";
import { ambiguity, describeKeySelector, typeExcludes } from "./find-key.js";
import { readPublicMaterial } from "./public-key.js";

export const READ_TYPES = ["cert", "pubkey", "data", "secret", "privkey"] as const;
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
  // No public key object (or the URI names the private key): the private key's public half.
  const privateKey = findOne(scope, "private-key", selector);
  if (!privateKey) throw notFound("pubkey", selector);
  const spki = publicKeyOfPrivate(scope, privateKey);
  return {
    ...result(scope, "private-key", privateKey, spki, spkiToPem(spki)),
    class: "public-key",
  };
}

/**
 * A private key's public key, from what the module exposes: the public key with its id, its
 * own public attributes (RSA modulus and exponent, CKA_EC_POINT), CKA_PUBLIC_KEY_INFO, or,
 * for a key that may leave the token, its private value.
 */
function publicKeyOfPrivate(scope: TokenScope, privateKey: Handle): Uint8Array {
  const session = scope.session;
  const { id, label = "" } = session.read(privateKey, ["id", "label"]);
  if (id && id.length > 0) {
    const [publicKey] = session.findObjects({ class: CLASS_VALUES["public-key"], id });
    const material = publicKey ? readPublicMaterial(session, publicKey) : undefined;
    if (material) return spkiOf(material);
  }
  const own = readPublicMaterial(session, privateKey);
  if (own) return spkiOf(own);
  const { publicKeyInfo } = session.read(privateKey, ["publicKeyInfo"]);
  if (publicKeyInfo && publicKeyInfo.length > 0) return new Uint8Array(publicKeyInfo);
  if (exportRefusals(scope, privateKey).length === 0) {
    const pkcs8 = privateKeyInfoOf(scope, privateKey, label);
    // node:crypto loaded here, not by every read-object: it costs a start about 5 ms.
    const { createPrivateKey, createPublicKey } = process.getBuiltinModule("node:crypto");
    const key = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
    return new Uint8Array(createPublicKey(key).export({ type: "spki", format: "der" }));
  }
  throw new TspError(
    "not-found",
    `read-object: private key "${label}" has no public-key object and the module exposes no public value for it (no CKA_EC_POINT or CKA_PUBLIC_KEY_INFO, and its private value may not leave the token)`,
  );
}

/** What forbids reading a key's value in the clear: the attributes, in the contract's words. */
function exportRefusals(scope: TokenScope, handle: Handle): string[] {
  const { sensitive, extractable } = scope.session.read(handle, ["sensitive", "extractable"]);
  const refusals: string[] = [];
  if (sensitive !== false) refusals.push("CKA_SENSITIVE is true");
  if (extractable !== true) refusals.push("CKA_EXTRACTABLE is false");
  return refusals;
}

function refuseExport(scope: TokenScope, handle: Handle, what: string): void {
  const refusals = exportRefusals(scope, handle);
  if (refusals.length === 0) return;
  const { label = "" } = scope.session.read(handle, ["label"]);
  throw new TspError(
    "usage",
    `read-object: ${what} "${label}" may not leave the token in the clear: ${refusals.join(", ")} (export it wrapped instead: tsp11 wrap)`,
  );
}

function readSecretKey(scope: TokenScope, selector: KeySelector): ReadObjectResult {
  const handle = findOne(scope, "secret-key", selector);
  if (!handle) throw notFound("secret", selector);
  refuseExport(scope, handle, "secret key");
  const { value } = scope.session.read(handle, ["value"]);
  if (!value)
    throw new TspError("failure", "read-object: the module gave no CKA_VALUE for the key");
  return result(scope, "secret-key", handle, value);
}

function readPrivateKey(scope: TokenScope, selector: KeySelector): ReadObjectResult {
  const handle = findOne(scope, "private-key", selector);
  if (!handle) throw notFound("privkey", selector);
  refuseExport(scope, handle, "private key");
  const { label = "" } = scope.session.read(handle, ["label"]);
  const pkcs8 = privateKeyInfoOf(scope, handle, label);
  return result(scope, "private-key", handle, pkcs8, privateKeyInfoToPem(pkcs8));
}

/** PKCS#8 of a private key whose private attributes the module shows. */
function privateKeyInfoOf(scope: TokenScope, handle: Handle, label: string): Uint8Array {
  const session = scope.session;
  const { keyType } = session.read(handle, ["keyType"]);
  const type = keyType === undefined ? "unknown" : keyTypeName(keyType);
  const missing = (): TspError =>
    new TspError(
      "failure",
      `read-object: the module does not show the private attributes of ${type} key "${label}"`,
    );
  if (type === "rsa") {
    const parts = session.read(handle, [
      "modulus",
      "publicExponent",
      "privateExponent",
      "prime1",
      "prime2",
      "exponent1",
      "exponent2",
      "coefficient",
    ]);
    const { modulus, publicExponent, privateExponent, prime1, prime2 } = parts;
    const { exponent1, exponent2, coefficient } = parts;
    if (!modulus || !publicExponent || !privateExponent || !prime1 || !prime2) throw missing();
    if (!exponent1 || !exponent2 || !coefficient) throw missing();
    return rsaPrivateKeyInfo({
      modulus,
      publicExponent,
      privateExponent,
      prime1,
      prime2,
      exponent1,
      exponent2,
      coefficient,
    });
  }
  if (type === "ec" || type === "ec-edwards" || type === "ec-montgomery") {
    const { ecParams, value } = session.read(handle, ["ecParams", "value"]);
    if (!ecParams || !value) throw missing();
    return ecPrivateKeyInfo(ecParams, value);
  }
  throw new TspError("usage", `read-object: tsp11 cannot export ${type} private keys`);
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

/** read-object's JSON (the CLI's --json, serve's and batch's answer). */
export interface ReadObjectJson {
  class: ObjectClass;
  id: string;
  label: string;
  pem?: string;
  uri: string;
  valueBase64?: string;
}

/**
 * The object as JSON: PEM in `pem` for a certificate or public key, unless the DER is asked
 * for; the DER (or a data object's value) in `valueBase64` otherwise.
 */
export function readObjectJson(read: ReadObjectResult, format: "pem" | "der"): ReadObjectJson {
  const { class: cls, id, label, uri } = read;
  if (read.pem !== undefined && format === "pem") {
    return { class: cls, id, label, pem: read.pem, uri };
  }
  return { class: cls, id, label, uri, valueBase64: Buffer.from(read.bytes).toString("base64") };
}

export function runReadObject(
  scope: TokenScope,
  type: ReadType,
  selector: KeySelector,
): ReadObjectResult {
  if (type === "cert") return readCertificate(scope, selector);
  if (type === "pubkey") return readPublicKey(scope, selector);
  if (type === "secret") return readSecretKey(scope, selector);
  if (type === "privkey") return readPrivateKey(scope, selector);
  return readData(scope, selector);
}
