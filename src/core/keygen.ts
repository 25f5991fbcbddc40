import { createHash, randomBytes } from "node:crypto";
import { findCurve } from "../asn1/curves.js";
import { spkiToPem } from "../asn1/spki.js";
import { TspError } from "../errors.js";
import type { KeySpec } from "../options.js";
import { isCkr } from "../pkcs11/ckr.js";
import type { KeyUsage, PairRequest } from "../pkcs11/keys.js";
import {
  canonicalPairUsage,
  KEYGEN_MECHANISMS,
  pairTemplates,
  pairUsageOf,
  SECRET_USAGE,
  secretTemplate,
  usageOf,
} from "../pkcs11/keys.js";
import type { Attribute, Handle } from "../pkcs11/lib.js";
import { CLASS_VALUES } from "../pkcs11/names.js";
import type { MaybePromise } from "../pkcs11/session.js";
import type { TokenScope } from "../pkcs11/token.js";
import { formatPkcs11Uri } from "../pkcs11/uri.js";
import type { PublicKeyMaterial } from "./public-key.js";
import { describeMaterial, keyIdOf, readPublicMaterial, spkiOf } from "./public-key.js";

export interface KeygenOptions {
  spec: KeySpec;
  label: string;
  id: Uint8Array | undefined;
  usage: KeyUsage[] | undefined;
  extractable: boolean;
  force: boolean;
}

export interface KeygenResult {
  label: string;
  id: string;
  keyType: string;
  bits?: number;
  curve?: string;
  usage: KeyUsage[];
  publicKeyPem?: string;
  uri: string;
}

export interface KeygenHooks {
  warn: (message: string) => void;
  /** Called around a generation that may take seconds (progress on a terminal). */
  slow?: (what: string) => () => void;
}

const KEY_CLASSES = [
  CLASS_VALUES["private-key"],
  CLASS_VALUES["public-key"],
  CLASS_VALUES["secret-key"],
];

/** Keys already holding the label or id: a conflict, or with --force what gets replaced. */
function existingKeys(scope: TokenScope, options: KeygenOptions): Handle[] {
  // One search per attribute, whatever the class (each search costs SoftHSM a pass over every
  // object); the few matches are then kept if they are keys.
  const queries = options.id
    ? [{ label: options.label }, { id: options.id }]
    : [{ label: options.label }];
  const found = new Map<string, Handle>();
  for (const query of queries) {
    for (const handle of scope.session.findObjects(query))
      found.set(handle.toString("hex"), handle);
  }
  return [...found.values()].filter((handle) => {
    const { class: cls } = scope.session.read(handle, ["class"]);
    return cls !== undefined && KEY_CLASSES.includes(cls);
  });
}

function checkMechanism(scope: TokenScope, spec: KeySpec): void {
  if (scope.session.hasMechanism(KEYGEN_MECHANISMS[spec.keyType])) return;
  const name =
    spec.keyType === "ec-edwards"
      ? "CKM_EC_EDWARDS_KEY_PAIR_GEN"
      : `key generation for ${spec.keyType}`;
  throw new TspError("usage", `keygen: token "${scope.token.label}" does not offer ${name}`);
}

function publicParams(spec: KeySpec): PairRequest["publicParams"] {
  if (spec.keyType === "rsa")
    return { modulusBits: spec.bits, publicExponent: Buffer.from([1, 0, 1]) };
  if (spec.keyType === "aes") return {};
  const curve = findCurve(spec.curve);
  if (!curve) throw new TspError("usage", `keygen: unknown curve ${spec.curve}`);
  return { ecParams: Buffer.from(curve.ecParamsHex, "hex") };
}

/** Modules that refuse explicit false usages (tpm2-pkcs11: CKR_GENERAL_ERROR) get one retry. */
function isTemplateRefusal(error: unknown): boolean {
  return isCkr(
    error,
    "CKR_GENERAL_ERROR",
    "CKR_TEMPLATE_INCONSISTENT",
    "CKR_ATTRIBUTE_TYPE_INVALID",
  );
}

/** Awaits the generation: synchronous in the CLI, on the thread pool in serve's async sessions. */
async function generate<T>(
  run: (onlyRequested: boolean) => MaybePromise<T>,
  hooks: KeygenHooks,
): Promise<T> {
  try {
    return await run(false);
  } catch (error) {
    if (!isTemplateRefusal(error)) throw error;
    hooks.warn(
      "the token refused a template with explicit false usages; retrying with only the requested ones",
    );
    return await run(true);
  }
}

function defaultUsage(spec: KeySpec): KeyUsage[] {
  return spec.keyType === "aes" ? ["encrypt", "decrypt"] : ["sign"];
}

function warnUnrequested(usage: KeyUsage[], requested: KeyUsage[], hooks: KeygenHooks): void {
  const extra = usage.filter((word) => !requested.includes(word));
  if (extra.length > 0)
    hooks.warn(`the token gave the key usages that were not asked for: ${extra.join(", ")}`);
}

export async function runKeygen(
  scope: TokenScope,
  options: KeygenOptions,
  hooks: KeygenHooks,
): Promise<KeygenResult> {
  checkMechanism(scope, options.spec);
  const replaced = existingKeys(scope, options);
  if (replaced.length > 0 && !options.force) {
    throw new TspError(
      "conflict",
      `keygen: a key with label "${options.label}"${options.id ? ` or id ${Buffer.from(options.id).toString("hex")}` : ""} already exists on token "${scope.token.label}" (use --force to replace it)`,
    );
  }
  const usage = options.usage ?? defaultUsage(options.spec);
  const result =
    options.spec.keyType === "aes"
      ? await generateSecret(scope, options, usage, hooks)
      : await generatePair(scope, options, usage, hooks);
  // --force: the old keys go only once the new one exists.
  for (const handle of replaced)
    scope.session.destroyObject(handle, "keygen: destroy the replaced key");
  return result;
}

async function generatePair(
  scope: TokenScope,
  options: KeygenOptions,
  usage: KeyUsage[],
  hooks: KeygenHooks,
): Promise<KeygenResult> {
  const spec = options.spec;
  if (spec.keyType === "aes")
    throw new TspError("usage", "keygen: aes is a secret key, not a pair");
  const request: PairRequest = {
    mechanism: { mechanism: KEYGEN_MECHANISMS[spec.keyType] },
    publicParams: publicParams(spec),
    label: options.label,
    id: options.id,
    usage,
    extractable: options.extractable,
  };
  const done =
    spec.keyType === "rsa" && spec.bits >= 3072
      ? hooks.slow?.(`generating an RSA-${spec.bits} key pair`)
      : undefined;
  let keys: { publicKey: Handle; privateKey: Handle };
  try {
    keys = await generate((onlyRequested) => {
      const { publicTemplate, privateTemplate } = pairTemplates(request, onlyRequested);
      return scope.session.generateKeyPair(
        request.mechanism,
        publicTemplate,
        privateTemplate,
        "keygen: generate the key pair",
      );
    }, hooks);
  } finally {
    done?.();
  }
  const material = readNewPublicKey(scope, keys.publicKey);
  const id = options.id ?? keyIdOf(material);
  if (!options.id) {
    scope.session.setAttributes(keys.publicKey, { id }, "keygen: set the key id");
    scope.session.setAttributes(keys.privateKey, { id }, "keygen: set the key id");
  }
  const actual = pairUsageOf(
    scope.session.read(keys.privateKey, ["sign", "decrypt", "derive", "unwrap"]),
    scope.session.read(keys.publicKey, ["verify", "encrypt", "wrap", "derive"]),
  );
  warnUnrequested(actual, canonicalPairUsage(usage), hooks);
  const described = describeMaterial(material);
  return {
    label: options.label,
    id: Buffer.from(id).toString("hex"),
    keyType: spec.keyType,
    ...(spec.keyType === "rsa"
      ? { bits: described.bits ?? spec.bits }
      : { curve: described.curve ?? spec.curve }),
    usage: actual,
    publicKeyPem: spkiToPem(spkiOf(material)),
    uri: formatPkcs11Uri(scope.token, { label: options.label, id }),
  };
}

function readNewPublicKey(scope: TokenScope, publicKey: Handle): PublicKeyMaterial {
  const material = readPublicMaterial(scope.session, publicKey);
  if (!material)
    throw new TspError("failure", "keygen: the new public key has no readable public value");
  return material;
}

async function generateSecret(
  scope: TokenScope,
  options: KeygenOptions,
  usage: KeyUsage[],
  hooks: KeygenHooks,
): Promise<KeygenResult> {
  if (options.spec.keyType !== "aes") throw new TspError("usage", "keygen: not a secret key type");
  const bits = options.spec.bits;
  // A secret key has no public value to hash: its id is random unless given.
  const id = options.id ?? createHash("sha1").update(randomBytes(32)).digest();
  const handle = await generate((onlyRequested) => {
    const template: Attribute[] = secretTemplate(
      { label: options.label, id, usage, extractable: options.extractable, valueLen: bits / 8 },
      onlyRequested,
    );
    return scope.session.generateKey(
      { mechanism: KEYGEN_MECHANISMS.aes },
      template,
      "keygen: generate the key",
    );
  }, hooks);
  const actual = usageOf(scope.session.read(handle, SECRET_USAGE));
  warnUnrequested(actual, usage, hooks);
  return {
    label: options.label,
    id: Buffer.from(id).toString("hex"),
    keyType: "aes",
    bits,
    usage: actual,
    uri: formatPkcs11Uri(scope.token, { label: options.label, id, type: "secret-key" }),
  };
}
