/**
 * write-object: certificates, public keys and data objects onto the token. The input is
 * parsed completely before the token is touched (prepareObject), so a file that does not
 * parse changes nothing; a conflicting object is replaced (--force) only once the new one
 * exists.
 */
import { CLASS_OF_VALUE } from "./object-reader.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { parseCertificates, parsePublicKeyInput } from "../asn1/cert.js";
import { certificateLabel } from "../asn1/cert-label.js";
import type { ParsedCertificate, ParsedPublicKey } from "../asn1/cert.js";
import { findCurve } from "../asn1/curves.js";
import { unwrapEcPoint } from "../asn1/ec-point.js";
import { parseSpki, spkiEquals, spkiOf, wrapEcPoint } from "../asn1/spki.js";
import { TspError } from "../errors.js";
import type { AttributeInput } from "../pkcs11/attributes.js";
import type { Handle } from "../pkcs11/lib.js";
import { ck } from "../pkcs11/lib.js";
import type { ObjectClass } from "../pkcs11/names.js";
import { CLASS_VALUES, keyTypeValue, URI_TYPES } from "../pkcs11/names.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { TokenScope } from "../pkcs11/token.js";
import { lockKeyOf, withTokenLock } from "../pkcs11/token-lock.js";
import { formatPkcs11Uri } from "../pkcs11/uri.js";
import type { PublicKeyMaterial } from "./public-key.js";
import { keyIdOf, readPublicMaterial } from "./public-key.js";

export const WRITE_TYPES = ["cert", "pubkey", "data"] as const;
export type WriteType = (typeof WRITE_TYPES)[number];

/** A parsed input, ready to be written. */
export type PreparedObject =
  | {
      type: "cert";
      /** The certificate stored by runWriteObject: the file's first. */
      cert: ParsedCertificate;
      /** Every certificate of the file, the first included (runWriteChain stores them all). */
      chain: ParsedCertificate[];
    }
  | { type: "pubkey"; key: ParsedPublicKey; material: PublicKeyMaterial }
  | { type: "data"; value: Uint8Array };

export interface WriteObjectOptions {
  id?: Uint8Array | undefined;
  label?: string | undefined;
  force: boolean;
  /** CKA_PRIVATE of the new object (default false: readable without a login). */
  private: boolean;
}

export interface WriteObjectResult {
  class: ObjectClass;
  id: string;
  label: string;
  subject?: string;
  issuer?: string;
  serial?: string;
  uri: string;
}

export interface WriteObjectHooks {
  warn: (message: string) => void;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/**
 * Parses the input for its type; anything that is not one is a usage error (exit 2). Runs
 * before any token is opened.
 */
export function prepareObject(type: WriteType, input: Uint8Array): PreparedObject {
  switch (type) {
    case "cert": {
      const chain = withWhat("certificate", () => parseCertificates(input));
      const [cert] = chain;
      if (!cert) throw new TspError("usage", "write-object: the file holds no certificate");
      return { type, cert, chain };
    }
    case "pubkey": {
      const key = withWhat("public key", () => parsePublicKeyInput(input));
      return { type, key, material: materialOf(key) };
    }
    case "data":
      return { type, value: input };
  }
}

function withWhat<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof TspError) {
      throw new TspError(error.kind, `write-object: read the ${what}: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** The PKCS#11 attributes of a public key file's key. */
function materialOf(key: ParsedPublicKey): PublicKeyMaterial {
  if (key.keyType === "rsa") {
    if (!key.modulus || !key.publicExponent)
      throw new TspError("usage", "write-object: the RSA public key is incomplete");
    return {
      keyType: "rsa",
      modulus: Buffer.from(key.modulus),
      publicExponent: Buffer.from(key.publicExponent),
    };
  }
  const curve = key.curve ? findCurve(key.curve) : undefined;
  if (!curve || !key.ecPoint) {
    throw new TspError("usage", "write-object: the public key is on a curve tsp11 does not know");
  }
  const point = withWhat("public key", () => unwrapEcPoint(key.ecPoint ?? new Uint8Array(), curve));
  return {
    keyType: curve.keyType,
    ecParams: Buffer.from(curve.ecParamsHex, "hex"),
    ecPoint: Buffer.from(wrapEcPoint(point)),
  };
}

/** The keygen default id for a certificate's key: SHA-1 of its public value. */
function certificateKeyId(cert: ParsedCertificate): Uint8Array {
  try {
    const info = parseSpki(cert.spki);
    const value = info.keyType === "rsa" ? info.modulus : info.ecPoint;
    if (value) return sha1(value);
  } catch {
    // A key type tsp11 does not handle (DSA, ...): the id still has to be stable.
  }
  return sha1(cert.spki);
}

/** A key object on the token, with its SPKI when its public half can be read. */
interface TokenKeyInfo {
  handle: Handle;
  cls: "private-key" | "public-key";
  id: Uint8Array;
  label: string;
  spki: Uint8Array | undefined;
}

/**
 * The key objects with this id (every one without an id), and the certificates with it: one
 * search by id whatever the class (each search costs SoftHSM a pass over every object), the
 * class read with the id and label.
 */
function keyHandles(session: TokenSession, id?: Uint8Array): Handle[][] {
  if (id === undefined) {
    return [
      session.findObjects({ class: CLASS_VALUES["private-key"] }),
      session.findObjects({ class: CLASS_VALUES["public-key"] }),
    ];
  }
  return [session.findObjects({ id })];
}

interface ObjectsById {
  keys: TokenKeyInfo[];
  /** The certificates found by the same search (only when it was one by id). */
  certificates: Handle[];
}

function tokenObjects(session: TokenSession, id?: Uint8Array): ObjectsById {
  const keys: TokenKeyInfo[] = [];
  const certificates: Handle[] = [];
  for (const handles of keyHandles(session, id)) {
    for (const handle of handles) {
      const values = session.read(handle, ["class", "id", "label"]);
      const cls = CLASS_OF_VALUE.get(values.class ?? -1);
      if (cls === "certificate") certificates.push(handle);
      if (cls !== "private-key" && cls !== "public-key") continue;
      const { id: keyId, label } = values;
      const material = readPublicMaterial(session, handle);
      let spki: Uint8Array | undefined;
      try {
        spki = material ? spkiOf(material) : undefined;
      } catch {
        spki = undefined;
      }
      keys.push({ handle, cls, id: keyId ?? new Uint8Array(), label: label ?? "", spki });
    }
  }
  // Private keys first, as they are named (the search by id finds them in the module's order).
  keys.sort((a, b) => Number(a.cls === "public-key") - Number(b.cls === "public-key"));
  return { keys, certificates };
}

function tokenKeys(session: TokenSession, id?: Uint8Array): TokenKeyInfo[] {
  return tokenObjects(session, id).keys;
}

/** Private keys first: their label is the one a certificate should carry. */
function preferPrivate(keys: TokenKeyInfo[]): TokenKeyInfo | undefined {
  return keys.find((k) => k.cls === "private-key") ?? keys[0];
}

interface Placement {
  id: Uint8Array;
  label: string | undefined;
  /** The certificates already on the token with this id, when placing found them. */
  certificates?: Handle[];
}

/** Where a certificate goes: the id and label of its key, checked against an explicit --id. */
function placeCertificate(
  session: TokenSession,
  cert: ParsedCertificate,
  options: WriteObjectOptions,
  hooks: WriteObjectHooks,
): Placement {
  if (options.id) {
    const { keys, certificates } = tokenObjects(session, options.id);
    const readable = keys.filter((k) => k.spki !== undefined);
    const shownId = hex(options.id);
    if (keys.length === 0) {
      hooks.warn(`no key with id ${shownId} on the token; the certificate is stored on its own`);
    } else if (readable.length === 0) {
      hooks.warn(
        `the public half of key ${shownId} cannot be read; its match with the certificate is not checked`,
      );
    } else if (!readable.some((k) => spkiEquals(k.spki ?? new Uint8Array(), cert.spki))) {
      if (!options.force) {
        throw new TspError(
          "conflict",
          `write-object: the certificate's public key does not match the key with id ${shownId} (use --force to store it anyway)`,
        );
      }
      hooks.warn(
        `the certificate's public key does not match key ${shownId}; stored anyway (--force)`,
      );
    }
    return {
      id: options.id,
      label: options.label ?? keyLabelOr(preferPrivate(keys)?.label, cert),
      certificates,
    };
  }
  const matching = tokenKeys(session).filter(
    (k) => k.spki !== undefined && spkiEquals(k.spki, cert.spki),
  );
  const ids = [...new Set(matching.map((k) => hex(k.id)))];
  if (ids.length > 1) {
    throw new TspError(
      "usage",
      `write-object: the certificate's key is on the token under several ids (${ids.join(", ")}); name one with --id`,
    );
  }
  const key = preferPrivate(matching);
  return {
    id: key ? key.id : certificateKeyId(cert),
    label: options.label ?? keyLabelOr(key?.label, cert),
  };
}

/**
 * The label of the certificate's key, else the certificate's own (see cert-label.ts): never
 * empty, never raw control characters.
 */
function keyLabelOr(keyLabel: string | undefined, cert: ParsedCertificate): string {
  if (keyLabel !== undefined && keyLabel !== "") return keyLabel;
  return certificateLabel(cert.subjectName, cert.serialHex);
}

/**
 * `--chain`: every certificate of the file, each placed as on its own (its key's id and label,
 * or the SHA-1 of its public key). All are placed and checked for conflicts before the first is
 * created, so a conflict stores none of them.
 */
export function runWriteChain(
  scope: TokenScope,
  chain: ParsedCertificate[],
  options: WriteObjectOptions,
  hooks: WriteObjectHooks,
): Promise<WriteObjectResult[]> {
  if (options.id !== undefined || options.label !== undefined) {
    throw new TspError(
      "usage",
      "write-object: --chain gives each certificate its own id and label; drop --id and --label",
    );
  }
  // Checked and created under one hold of the token's lock: no other process slips a
  // conflicting certificate in between.
  return withTokenLock(lockKeyOf(scope), "write-object", () => {
    const quiet: WriteObjectHooks = { warn: () => undefined };
    const seen = new Map<string, number>();
    chain.forEach((cert, k) => {
      const { id } = placeCertificate(scope.session, cert, options, quiet);
      const shown = hex(id);
      const earlier = seen.get(shown);
      if (earlier !== undefined) {
        throw new TspError(
          "usage",
          `write-object: certificates ${earlier + 1} and ${k + 1} of the chain would both get id ${shown}`,
        );
      }
      seen.set(shown, k);
      const existing = conflictsOf(scope.session, "certificate", { id });
      refuseConflicts(existing, `a certificate with id ${shown}`, options);
    });
    return Promise.resolve(
      chain.map((cert) =>
        writeUnlocked(scope, { type: "cert", cert, chain: [cert] }, options, hooks),
      ),
    );
  });
}

/** A public key goes with the private key of its id: same label, and the same public half. */
function placePublicKey(
  session: TokenSession,
  material: PublicKeyMaterial,
  spki: Uint8Array,
  options: WriteObjectOptions,
): Placement {
  const id = options.id ?? keyIdOf(material);
  const privateKeys = tokenKeys(session, id).filter((k) => k.cls === "private-key");
  const mismatch = privateKeys.find((k) => k.spki !== undefined && !spkiEquals(k.spki, spki));
  if (mismatch && !options.force) {
    throw new TspError(
      "conflict",
      `write-object: the public key does not match the private key with id ${hex(id)} (use --force to store it anyway)`,
    );
  }
  return { id, label: options.label ?? privateKeys[0]?.label };
}

function conflictsOf(session: TokenSession, cls: ObjectClass, query: AttributeInput): Handle[] {
  return session.findObjects({ ...query, class: CLASS_VALUES[cls] });
}

function refuseConflicts(existing: Handle[], what: string, options: WriteObjectOptions): void {
  if (existing.length > 0 && !options.force) {
    throw new TspError(
      "conflict",
      `write-object: ${what} already exists on the token (use --force to replace it)`,
    );
  }
}

/**
 * Check and create under the token's lock: of several processes (or serve requests) storing
 * the same object at once, one creates it and the others meet the conflict.
 */
export function runWriteObject(
  scope: TokenScope,
  prepared: PreparedObject,
  options: WriteObjectOptions,
  hooks: WriteObjectHooks,
): Promise<WriteObjectResult> {
  return withTokenLock(lockKeyOf(scope), "write-object", () =>
    Promise.resolve(writeUnlocked(scope, prepared, options, hooks)),
  );
}

function writeUnlocked(
  scope: TokenScope,
  prepared: PreparedObject,
  options: WriteObjectOptions,
  hooks: WriteObjectHooks,
): WriteObjectResult {
  const { session } = scope;
  let cls: ObjectClass;
  let placement: Placement;
  let template: AttributeInput;
  let extra: Partial<WriteObjectResult> = {};
  let existing: Handle[];

  switch (prepared.type) {
    case "cert": {
      const cert = prepared.cert;
      cls = "certificate";
      placement = placeCertificate(session, cert, options, hooks);
      existing = placement.certificates ?? conflictsOf(session, cls, { id: placement.id });
      refuseConflicts(existing, `a certificate with id ${hex(placement.id)}`, options);
      template = {
        certificateType: ck.CKC_X_509,
        subject: cert.subjectDer,
        issuer: cert.issuerDer,
        serialNumber: cert.serialDer,
        value: cert.der,
      };
      extra = { subject: cert.subject, issuer: cert.issuer, serial: cert.serialHex };
      break;
    }
    case "pubkey": {
      const { material, key } = prepared;
      cls = "public-key";
      placement = placePublicKey(session, material, key.der, options);
      existing = conflictsOf(session, cls, { id: placement.id });
      refuseConflicts(existing, `a public key with id ${hex(placement.id)}`, options);
      template = {
        keyType: keyTypeValue(material.keyType),
        verify: true,
        ...(material.keyType === "rsa"
          ? { encrypt: true, modulus: material.modulus, publicExponent: material.publicExponent }
          : { ecParams: material.ecParams, ecPoint: material.ecPoint }),
      };
      break;
    }
    case "data": {
      cls = "data";
      if (options.id) {
        throw new TspError(
          "usage",
          "write-object: data objects have no CKA_ID; name them with --label",
        );
      }
      const label = options.label;
      if (label === undefined || label === "") {
        throw new TspError("usage", "write-object: a data object needs --label");
      }
      placement = { id: new Uint8Array(), label };
      existing = conflictsOf(session, cls, { label });
      refuseConflicts(existing, `a data object labelled "${label}"`, options);
      // CKA_APPLICATION names the object's owner; the label is the best name we have.
      template = { application: label, value: prepared.value };
      break;
    }
  }

  const label = placement.label ?? "";
  session.createObject(
    {
      class: CLASS_VALUES[cls],
      token: true,
      private: options.private,
      ...(label !== "" ? { label } : {}),
      ...(placement.id.length > 0 ? { id: placement.id } : {}),
      ...template,
    },
    `write-object: create the ${cls.replace("-", " ")}`,
  );
  // --force: the replaced objects go only once the new one exists.
  for (const handle of existing) {
    session.destroyObject(handle, `write-object: destroy the replaced ${cls.replace("-", " ")}`);
  }
  return {
    class: cls,
    id: hex(placement.id),
    label,
    ...extra,
    uri: formatPkcs11Uri(scope.token, {
      label,
      id: placement.id,
      type: URI_TYPES[cls],
    }),
  };
}
