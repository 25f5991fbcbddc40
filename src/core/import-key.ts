/**
 * write-object for keys: a private key file, a PKCS#12 bundle or a raw secret key onto the
 * token. As for the other types, the input is parsed (and decrypted) completely before the
 * token is opened; every object is checked for conflicts before the first one is created,
 * and a failed creation removes what this run created, so nothing is left half-imported.
 */
import { createHash, randomBytes } from "node:crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { bytesEqual, toArrayBuffer } from "../asn1/bytes.js";
import { parseCertificate } from "../asn1/cert.js";
import type { ParsedCertificate } from "../asn1/cert.js";
import { parsePkcs12 } from "../asn1/pkcs12.js";
import type { Pkcs12Item } from "../asn1/pkcs12.js";
import { decryptPrivateKeyFile, privateKeyParts, readPrivateKeyFile } from "../asn1/private-key.js";
import type { PrivateKeyParts } from "../asn1/private-key.js";
import { parseSpki, spkiEquals, spkiToPem } from "../asn1/spki.js";
import { TspError } from "../errors.js";
import type { Pin } from "../pin.js";
import type { AttributeInput } from "../pkcs11/attributes.js";
import type { Usage } from "../options.js";
import type { KeyUsage } from "../pkcs11/keys.js";
import {
  pairTemplates,
  pairUsageOf,
  SECRET_USAGE,
  secretTemplate,
  usageOf,
} from "../pkcs11/keys.js";
import type { Attribute, Handle } from "../pkcs11/lib.js";
import { ck } from "../pkcs11/lib.js";
import type { ObjectClass } from "../pkcs11/names.js";
import { CLASS_VALUES, keyTypeValue, URI_TYPES } from "../pkcs11/names.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { TokenScope } from "../pkcs11/token.js";
import { formatPkcs11Uri } from "../pkcs11/uri.js";
import type { WriteObjectResult } from "./write-object.js";
import { certificateLabel } from "../asn1/cert-label.js";
import { lockKeyOf, withTokenLock } from "../pkcs11/token-lock.js";

export const IMPORT_TYPES = ["privkey", "pkcs12", "secret"] as const;
export type ImportType = (typeof IMPORT_TYPES)[number];

export const SECRET_KEY_TYPES = ["aes", "generic", "des3"] as const;
export type SecretKeyType = (typeof SECRET_KEY_TYPES)[number];

/** The contract's keyType word of each secret type, and the lengths its CKA_VALUE may have. */
const SECRET_TYPES: Readonly<
  Record<SecretKeyType, { keyType: string; lengths?: readonly number[] }>
> = {
  aes: { keyType: "aes", lengths: [16, 24, 32] },
  generic: { keyType: "generic-secret" },
  des3: { keyType: "des3", lengths: [24] },
};

export type PreparedImport =
  | { type: "privkey"; key: PrivateKeyParts }
  | {
      type: "pkcs12";
      key: PrivateKeyParts;
      /** The key bag's friendlyName. */
      keyName: string | undefined;
      certificate: ParsedCertificate | undefined;
      chain: ParsedCertificate[];
    }
  | { type: "secret"; keyType: SecretKeyType; value: Uint8Array };

export interface PrepareImportOptions {
  /** --key-pass / --key-pass-file (or serve's keyPass), when given. */
  passphrase: Pin | undefined;
  /** Asks for the pass phrase (a no-echo prompt) when none was given and one is needed. */
  askPassphrase: () => Promise<Pin>;
  /** --key-type of a secret key. */
  secretKeyType: SecretKeyType | undefined;
}

export interface ImportOptions {
  id: Uint8Array | undefined;
  label: string | undefined;
  usage: Usage[] | undefined;
  extractable: boolean;
  /** Store the public key beside an imported private key (default true). */
  publicKey: boolean;
  force: boolean;
}

/** write-object's JSON, with what a key adds (as keygen reports it). */
export interface ImportedObject extends WriteObjectResult {
  keyType?: string;
  bits?: number;
  curve?: string;
  usage?: KeyUsage[];
  publicKeyPem?: string;
}

export interface ImportHooks {
  warn: (message: string) => void;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

function withWhat<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof TspError) {
      throw new TspError(error.kind, `write-object: ${what}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** A private key file, decrypted with the given or asked pass phrase when it is encrypted. */
async function preparePrivateKey(
  input: Uint8Array,
  options: PrepareImportOptions,
): Promise<PrivateKeyParts> {
  const file = withWhat("read the private key", () => readPrivateKeyFile(input));
  if (!file.encrypted) return withWhat("read the private key", () => privateKeyParts(file.pkcs8));
  const pass = options.passphrase ?? (await options.askPassphrase());
  const pkcs8 = withWhat("decrypt the private key", () =>
    decryptPrivateKeyFile(file, pass.reveal()),
  );
  return withWhat("read the private key", () => privateKeyParts(pkcs8));
}

/**
 * A PKCS#12 bundle: without a given pass phrase the empty one is tried first (bundles
 * exported with `-passout pass:`), then one is asked for.
 */
async function preparePkcs12(
  input: Uint8Array,
  options: PrepareImportOptions,
): Promise<PreparedImport> {
  const what = "read the PKCS#12 file";
  let contents;
  if (options.passphrase) {
    contents = withWhat(what, () => parsePkcs12(input, options.passphrase?.reveal() ?? ""));
  } else {
    try {
      contents = parsePkcs12(input, "");
    } catch (error) {
      if (!(error instanceof TspError) || error.kind !== "auth") {
        return withWhat(what, () => {
          throw error;
        });
      }
      const pass = await options.askPassphrase();
      contents = withWhat(what, () => parsePkcs12(input, pass.reveal()));
    }
  }
  const [keyItem, ...others] = contents.keys;
  if (!keyItem || others.length > 0) {
    throw new TspError(
      "usage",
      `write-object: ${what}: it holds ${contents.keys.length} private keys; tsp11 imports a bundle with exactly one`,
    );
  }
  const key = withWhat(what, () => privateKeyParts(keyItem.der));
  const certificates = contents.certificates.map((item) => ({
    item,
    cert: withWhat(what, () => parseCertificate(item.der)),
  }));
  const own = certificates.find(({ item, cert }) => belongsToKey(item, cert, keyItem, key));
  if (own && !spkiEquals(own.cert.spki, key.spki)) {
    throw new TspError(
      "usage",
      `write-object: ${what}: the certificate of the key holds another public key`,
    );
  }
  return {
    type: "pkcs12",
    key,
    keyName: keyItem.friendlyName,
    certificate: own?.cert,
    chain: certificates.filter((entry) => entry !== own).map(({ cert }) => cert),
  };
}

/** The key's certificate: the same localKeyId, else the same public key. */
function belongsToKey(
  item: Pkcs12Item,
  cert: ParsedCertificate,
  keyItem: Pkcs12Item,
  key: PrivateKeyParts,
): boolean {
  if (item.localKeyId && keyItem.localKeyId) return bytesEqual(item.localKeyId, keyItem.localKeyId);
  return spkiEquals(cert.spki, key.spki);
}

function prepareSecret(input: Uint8Array, keyType: SecretKeyType | undefined): PreparedImport {
  if (!keyType) {
    throw new TspError(
      "usage",
      `write-object: a secret key needs --key-type ${SECRET_KEY_TYPES.join("|")}`,
    );
  }
  const { lengths } = SECRET_TYPES[keyType];
  if (input.length === 0 || (lengths && !lengths.includes(input.length))) {
    const wanted = lengths ? lengths.join(", ") : "at least 1";
    throw new TspError(
      "usage",
      `write-object: a ${keyType} key is ${wanted} bytes long, not ${input.length}`,
    );
  }
  return { type: "secret", keyType, value: input };
}

/** Parses (and decrypts) the input of an import type; runs before any token is opened. */
export async function prepareImport(
  type: ImportType,
  input: Uint8Array,
  options: PrepareImportOptions,
): Promise<PreparedImport> {
  switch (type) {
    case "privkey":
      return { type, key: await preparePrivateKey(input, options) };
    case "pkcs12":
      return preparePkcs12(input, options);
    case "secret":
      return prepareSecret(input, options.secretKeyType);
  }
}

/** The keygen id of a public key: SHA-1 of the modulus, the EC point, the Edwards key. */
function idOfSpki(spki: Uint8Array): Uint8Array {
  const info = parseSpki(spki);
  const value = info.keyType === "rsa" ? info.modulus : info.ecPoint;
  return createHash("sha1")
    .update(value ?? spki)
    .digest();
}

/** CKA_EC_POINT: the point in a DER OCTET STRING, as PKCS#11 stores it. */
function ecPointAttribute(point: Uint8Array): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(new OctetString(toArrayBuffer(point))));
}

function keyAttributes(key: PrivateKeyParts): {
  publicParams: AttributeInput;
  privateParams: AttributeInput;
} {
  const keyType = keyTypeValue(key.keyType);
  if (key.keyType === "rsa" && key.rsa) {
    const { modulus, publicExponent } = key.rsa;
    return {
      publicParams: { keyType, modulus, publicExponent },
      privateParams: { keyType, ...key.rsa },
    };
  }
  if (!key.ecParams || !key.value || !key.ecPoint) {
    throw new TspError("usage", "write-object: the private key is incomplete");
  }
  return {
    publicParams: { keyType, ecParams: key.ecParams, ecPoint: ecPointAttribute(key.ecPoint) },
    privateParams: { keyType, ecParams: key.ecParams, value: key.value },
  };
}

/** An object this run will create, and what it replaces with --force. */
interface PlannedObject {
  cls: ObjectClass;
  template: AttributeInput | Attribute[];
  id: Uint8Array;
  label: string;
  replaces: Handle[];
  result: Omit<ImportedObject, "uri" | "class" | "id" | "label">;
}

function find(session: TokenSession, cls: ObjectClass, query: AttributeInput): Handle[] {
  return session.findObjects({ ...query, class: CLASS_VALUES[cls] });
}

/** Objects of these classes holding the id or the label: a conflict unless --force. */
function conflicting(
  session: TokenSession,
  classes: readonly ObjectClass[],
  id: Uint8Array,
  label: string,
  force: boolean,
): Handle[] {
  const found = new Map<string, Handle>();
  for (const cls of classes) {
    for (const query of [{ id }, ...(label !== "" ? [{ label }] : [])]) {
      for (const handle of find(session, cls, query)) found.set(handle.toString("hex"), handle);
    }
  }
  if (found.size > 0 && !force) {
    throw new TspError(
      "conflict",
      `write-object: a key with id ${hex(id)}${label !== "" ? ` or label "${label}"` : ""} already exists on the token (use --force to replace it)`,
    );
  }
  return [...found.values()];
}

function requireLabel(label: string | undefined, what: string): string {
  if (label === undefined || label === "") {
    throw new TspError("usage", `write-object: ${what} needs --label`);
  }
  return label;
}

function planKeyPair(
  session: TokenSession,
  key: PrivateKeyParts,
  label: string,
  options: ImportOptions,
): PlannedObject[] {
  const id = options.id ?? idOfSpki(key.spki);
  const requested = options.usage ?? ["sign"];
  const usage = requested.filter((word): word is KeyUsage => word !== "sign-recover");
  const recover = requested.includes("sign-recover");
  const replaces = conflicting(session, ["private-key", "public-key"], id, label, options.force);
  const { publicParams, privateParams } = keyAttributes(key);
  const { publicTemplate, privateTemplate } = pairTemplates({
    label,
    id,
    usage,
    extractable: options.extractable,
    publicParams,
    privateParams,
    privateExtra: { signRecover: recover },
    publicExtra: { verifyRecover: recover },
  });
  const described = {
    keyType: key.keyType,
    ...(key.keyType === "rsa" ? { bits: key.bits } : { curve: key.curve ?? "" }),
  };
  const planned: PlannedObject[] = [
    {
      cls: "private-key",
      template: privateTemplate,
      id,
      label,
      replaces,
      result: { ...described, publicKeyPem: spkiToPem(key.spki) },
    },
  ];
  if (options.publicKey) {
    planned.push({
      cls: "public-key",
      template: publicTemplate,
      id,
      label,
      replaces: [],
      result: described,
    });
  }
  return planned;
}

/**
 * A certificate of a bundle. The same certificate already on the token is skipped; another
 * one with its id is a conflict unless --force.
 */
function planCertificate(
  session: TokenSession,
  cert: ParsedCertificate,
  id: Uint8Array,
  label: string,
  options: ImportOptions,
  hooks: ImportHooks,
): PlannedObject | undefined {
  const existing = find(session, "certificate", { id });
  const same = existing.filter((handle) => {
    const { value } = session.read(handle, ["value"]);
    return value !== undefined && bytesEqual(value, cert.der);
  });
  if (same.length > 0 && same.length === existing.length) {
    hooks.warn(`certificate "${cert.subject}" is already on the token; not stored again`);
    return undefined;
  }
  if (existing.length > 0 && !options.force) {
    throw new TspError(
      "conflict",
      `write-object: a certificate with id ${hex(id)} already exists on the token (use --force to replace it)`,
    );
  }
  return {
    cls: "certificate",
    template: {
      private: false,
      certificateType: ck.CKC_X_509,
      subject: cert.subjectDer,
      issuer: cert.issuerDer,
      serialNumber: cert.serialDer,
      value: cert.der,
    },
    id,
    label,
    replaces: existing,
    result: { subject: cert.subject, issuer: cert.issuer, serial: cert.serialHex },
  };
}

function planPkcs12(
  session: TokenSession,
  prepared: Extract<PreparedImport, { type: "pkcs12" }>,
  options: ImportOptions,
  hooks: ImportHooks,
): PlannedObject[] {
  const { certificate } = prepared;
  const label = requireLabel(
    options.label ??
      (prepared.keyName ||
        (certificate
          ? certificateLabel(certificate.subjectName, certificate.serialHex)
          : undefined)),
    "a bundle whose key has no friendlyName",
  );
  const planned = planKeyPair(session, prepared.key, label, options);
  const keyId = planned[0]?.id ?? new Uint8Array();
  const certificates: [ParsedCertificate, Uint8Array, string][] = [];
  if (certificate) certificates.push([certificate, keyId, label]);
  for (const cert of prepared.chain) {
    certificates.push([
      cert,
      idOfSpki(cert.spki),
      certificateLabel(cert.subjectName, cert.serialHex),
    ]);
  }
  for (const [cert, id, certLabel] of certificates) {
    const plan = planCertificate(session, cert, id, certLabel, options, hooks);
    if (plan) planned.push(plan);
  }
  return planned;
}

function planSecret(
  session: TokenSession,
  prepared: Extract<PreparedImport, { type: "secret" }>,
  options: ImportOptions,
): PlannedObject[] {
  const label = requireLabel(options.label, "a secret key");
  // A secret key has no public value to hash: its id is random unless given, as in keygen.
  const id = options.id ?? createHash("sha1").update(randomBytes(32)).digest();
  const replaces = conflicting(session, ["secret-key"], id, label, options.force);
  const keyType = SECRET_TYPES[prepared.keyType].keyType;
  const template = secretTemplate({
    label,
    id,
    usage: (options.usage ?? ["encrypt", "decrypt"]).filter(
      (word): word is KeyUsage => word !== "sign-recover",
    ),
    extractable: options.extractable,
    params: { keyType: keyTypeValue(keyType), value: prepared.value },
  });
  return [
    {
      cls: "secret-key",
      template,
      id,
      label,
      replaces,
      result: { keyType, bits: prepared.value.length * 8 },
    },
  ];
}

/** The usage words the new key really has, read back as keygen reports them. */
function actualUsage(
  session: TokenSession,
  cls: ObjectClass,
  handle: Handle,
  publicHandle: Handle | undefined,
): KeyUsage[] {
  if (cls === "secret-key") return usageOf(session.read(handle, SECRET_USAGE));
  return pairUsageOf(
    session.read(handle, ["sign", "decrypt", "derive", "unwrap"]),
    publicHandle ? session.read(publicHandle, ["verify", "encrypt", "wrap", "derive"]) : {},
  );
}

function createAll(session: TokenSession, planned: PlannedObject[]): Handle[] {
  const created: Handle[] = [];
  try {
    for (const plan of planned) {
      const common: AttributeInput = {
        class: CLASS_VALUES[plan.cls],
        token: true,
        ...(plan.label !== "" ? { label: plan.label } : {}),
        id: plan.id,
      };
      const template = Array.isArray(plan.template)
        ? plan.template
        : { ...common, ...plan.template };
      created.push(
        session.createObject(template, `write-object: create the ${plan.cls.replace("-", " ")}`),
      );
    }
  } catch (error) {
    // Nothing half-imported: what this run created goes again.
    for (const handle of created.reverse()) {
      try {
        session.destroyObject(handle, "write-object: undo the import");
      } catch {
        // The first error is the one to report.
      }
    }
    throw error;
  }
  return created;
}

/**
 * Stores the prepared key (and certificates); returns every object written. Checked and
 * created under the token's lock, as write-object and keygen are.
 */
export function runImport(
  scope: TokenScope,
  prepared: PreparedImport,
  options: ImportOptions,
  hooks: ImportHooks,
): Promise<ImportedObject[]> {
  return withTokenLock(lockKeyOf(scope), "write-object", () =>
    Promise.resolve(importUnlocked(scope, prepared, options, hooks)),
  );
}

function importUnlocked(
  scope: TokenScope,
  prepared: PreparedImport,
  options: ImportOptions,
  hooks: ImportHooks,
): ImportedObject[] {
  const { session } = scope;
  let planned: PlannedObject[];
  switch (prepared.type) {
    case "privkey":
      planned = planKeyPair(
        session,
        prepared.key,
        requireLabel(options.label, "a private key"),
        options,
      );
      break;
    case "pkcs12":
      planned = planPkcs12(session, prepared, options, hooks);
      break;
    case "secret":
      planned = planSecret(session, prepared, options);
      break;
  }
  const handles = createAll(session, planned);
  // --force: the replaced objects go only once the new ones exist.
  const replaced = new Set<string>();
  for (const plan of planned) {
    for (const handle of plan.replaces) {
      if (replaced.has(handle.toString("hex"))) continue;
      replaced.add(handle.toString("hex"));
      session.destroyObject(handle, "write-object: destroy the replaced object");
    }
  }
  const publicIndex = planned.findIndex((plan) => plan.cls === "public-key");
  const publicHandle = publicIndex >= 0 ? handles[publicIndex] : undefined;
  return planned.map((plan, index) => {
    const handle = handles[index];
    const isKey = plan.cls === "private-key" || plan.cls === "secret-key";
    return {
      class: plan.cls,
      id: hex(plan.id),
      label: plan.label,
      ...plan.result,
      ...(isKey && handle ? { usage: actualUsage(session, plan.cls, handle, publicHandle) } : {}),
      uri: formatPkcs11Uri(scope.token, {
        label: plan.label,
        id: plan.id,
        type: URI_TYPES[plan.cls],
      }),
    };
  });
}
