import { findCurve } from "../asn1/curves.js";
import { TspError } from "../errors.js";
import type { KeySpec, Usage } from "../options.js";
import { isSecretSpec } from "../options.js";
import type { AttributeInput } from "../pkcs11/attributes.js";
import { mechanismName } from "../pkcs11/mechanisms.js";
import { withSignalsDeferred } from "../cleanup.js";
import { isCkr } from "../pkcs11/ckr.js";
import type { KeyUsage, PairRequest } from "../pkcs11/keys.js";
import {
  canonicalPairUsage,
  INCOMPLETE_ID,
  isIncompleteId,
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
import { lockKeyOf, withTokenLock } from "../pkcs11/token-lock.js";
import { formatPkcs11Uri } from "../pkcs11/uri.js";
import type { PublicKeyMaterial } from "./public-key.js";
import { describeMaterial, keyIdOf, readPublicMaterial } from "./public-key.js";

export interface KeygenOptions {
  spec: KeySpec;
  label: string;
  id: Uint8Array | undefined;
  usage: Usage[] | undefined;
  extractable: boolean;
  force: boolean;
  /** Attribute flags beyond the defaults (all optional, so serve's callers need not say). */
  flags?: KeyFlags;
  /** Whether a pair's result carries publicKeyPem (default: it does). */
  pem?: boolean;
}

/** keygen's attribute flags: the defaults are sensitive, destroyable, modifiable. */
export interface KeyFlags {
  sensitive?: boolean;
  alwaysAuthenticate?: boolean;
  /** CKM_ values for CKA_ALLOWED_MECHANISMS. */
  allowedMechanisms?: readonly number[];
  destroyable?: boolean;
  modifiable?: boolean;
}

export interface KeygenResult {
  label: string;
  id: string;
  keyType: string;
  bits?: number;
  curve?: string;
  usage: Usage[];
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

/** The words for each generation mechanism, in the order the refusal lists them. */
const KEYGEN_WORDS: Readonly<Record<keyof typeof KEYGEN_MECHANISMS, string>> = {
  rsa: "rsa",
  ec: "ec",
  "ec-edwards": "ed25519/ed448",
  "ec-montgomery": "x25519/x448",
  aes: "aes",
  "generic-secret": "generic/hmac",
  des3: "des3",
};

function specName(spec: KeySpec): string {
  if ("curve" in spec) return spec.keyType === "ec" ? `ec:${spec.curve}` : spec.curve;
  if (spec.keyType === "generic-secret") return `${spec.hmac ? "hmac" : "generic"}:${spec.bits}`;
  return spec.keyType === "des3" ? "des3" : `${spec.keyType}:${spec.bits}`;
}

function checkMechanism(scope: TokenScope, spec: KeySpec): void {
  const mechanism = KEYGEN_MECHANISMS[spec.keyType];
  if (scope.session.hasMechanism(mechanism)) return;
  const offered = (Object.keys(KEYGEN_MECHANISMS) as (keyof typeof KEYGEN_MECHANISMS)[])
    .filter((type) => scope.session.hasMechanism(KEYGEN_MECHANISMS[type]))
    .map((type) => KEYGEN_WORDS[type]);
  throw new TspError(
    "usage",
    `keygen: token "${scope.token.label}" does not offer CKM_${mechanismName(mechanism).replaceAll("-", "_")} (${specName(spec)}); it generates: ${offered.join(", ") || "nothing"}`,
  );
}

/** A curve the module does not have: CKR_CURVE_NOT_SUPPORTED, CKR_DOMAIN_PARAMS_INVALID, .... */
function isCurveRefusal(error: unknown): boolean {
  return isCkr(
    error,
    "CKR_CURVE_NOT_SUPPORTED",
    "CKR_DOMAIN_PARAMS_INVALID",
    "CKR_ATTRIBUTE_VALUE_INVALID",
    "CKR_TEMPLATE_INCONSISTENT",
  );
}

/** The attributes keygen's flags add: private (and secret) half, public half. */
function flagAttributes(flags: KeyFlags = {}): { own: AttributeInput; both: AttributeInput } {
  const both: AttributeInput = {};
  if (flags.destroyable === false) both.destroyable = false;
  if (flags.modifiable === false) both.modifiable = false;
  const own: AttributeInput = { ...both };
  if (flags.sensitive === false) own.sensitive = false;
  if (flags.alwaysAuthenticate === true) own.alwaysAuthenticate = true;
  if (flags.allowedMechanisms !== undefined) {
    const list = Buffer.alloc(8 * flags.allowedMechanisms.length);
    flags.allowedMechanisms.forEach((mechanism, i) =>
      list.writeBigUInt64LE(BigInt(mechanism), 8 * i),
    );
    own.allowedMechanisms = list;
  }
  return { own, both };
}

function publicParams(spec: KeySpec): PairRequest["publicParams"] {
  if (spec.keyType === "rsa")
    return { modulusBits: spec.bits, publicExponent: Buffer.from([1, 0, 1]) };
  if (!("curve" in spec)) return {};
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

function defaultUsage(spec: KeySpec): Usage[] {
  if (spec.keyType === "generic-secret") return ["sign", "verify"];
  if (spec.keyType === "ec-montgomery") return ["derive"];
  return isSecretSpec(spec) ? ["encrypt", "decrypt"] : ["sign"];
}

function warnUnrequested(usage: Usage[], requested: Usage[], hooks: KeygenHooks): void {
  const extra = usage.filter((word) => !requested.includes(word));
  if (extra.length > 0)
    hooks.warn(`the token gave the key usages that were not asked for: ${extra.join(", ")}`);
}

/**
 * Checks and creates under the token's lock (another process cannot create the same label in
 * between), and makes the key with signals held back: SIGINT/SIGTERM let it finish or undo.
 */
export async function runKeygen(
  scope: TokenScope,
  options: KeygenOptions,
  hooks: KeygenHooks,
): Promise<KeygenResult> {
  checkMechanism(scope, options.spec);
  checkFlags(options);
  if (options.id && isIncompleteId(options.id)) {
    throw new TspError("usage", "keygen: that id marks incomplete keys; choose another --id");
  }
  return withTokenLock(lockKeyOf(scope), "keygen", async () => {
    warnIncomplete(scope, hooks);
    const replaced = existingKeys(scope, options);
    if (replaced.length > 0 && !options.force) {
      throw new TspError(
        "conflict",
        `keygen: a key with label "${options.label}"${options.id ? ` or id ${Buffer.from(options.id).toString("hex")}` : ""} already exists on token "${scope.token.label}" (use --force to replace it)`,
      );
    }
    const usage = options.usage ?? defaultUsage(options.spec);
    return withSignalsDeferred(() =>
      isSecretSpec(options.spec)
        ? generateSecret(scope, options, usage, replaced, hooks)
        : generatePair(scope, options, usage, replaced, hooks),
    );
  });
}

/** Flag combinations refused before anything is made. */
function checkFlags(options: KeygenOptions): void {
  const secret = isSecretSpec(options.spec);
  if (options.flags?.modifiable === false && !secret && options.id === undefined) {
    // The SHA-1 id is set once the public key exists: an unmodifiable pair must be given one.
    throw new TspError("usage", "keygen: --no-modifiable needs --id for a key pair");
  }
  if (secret && options.usage?.includes("sign-recover")) {
    throw new TspError("usage", "keygen: sign-recover is a key pair's usage, not a secret key's");
  }
}

/**
 * sign-recover: CKA_SIGN_RECOVER / CKA_VERIFY_RECOVER on the halves, sent false unless asked
 * (SoftHSM turns them on when the template is silent).
 */
function recoverAttributes(usage: readonly Usage[]): {
  privateKey: AttributeInput;
  publicKey: AttributeInput;
} {
  const asked = usage.includes("sign-recover");
  return { privateKey: { signRecover: asked }, publicKey: { verifyRecover: asked } };
}

/** Sessions already checked for incomplete keys: a batch of keygens searches once. */
const checkedForIncomplete = new WeakSet<object>();

/** Keys a killed keygen left (INCOMPLETE_ID): named on stderr so they can be deleted. */
function warnIncomplete(scope: TokenScope, hooks: KeygenHooks): void {
  if (checkedForIncomplete.has(scope.session)) return;
  checkedForIncomplete.add(scope.session);
  const found = scope.session.findObjects({ id: INCOMPLETE_ID });
  if (found.length === 0) return;
  const labels = new Set(found.map((handle) => scope.session.read(handle, ["label"]).label ?? ""));
  hooks.warn(
    `token "${scope.token.label}" has ${found.length} incomplete key(s) left by an interrupted keygen (label ${[...labels].map((l) => `"${l}"`).join(", ")}, id ${INCOMPLETE_ID.toString("hex")}); delete them with delete-object --id ${INCOMPLETE_ID.toString("hex")}`,
  );
}

/**
 * After generation: the old keys (--force) are marked incomplete and the new ones get their
 * final id; then destroyReplaced removes the old ones. A kill -9 at any point leaves every
 * half-made or half-gone key carrying INCOMPLETE_ID. On failure before the new keys are final,
 * the old ids are put back and the caller destroys the new keys.
 */
function settle(
  scope: TokenScope,
  fresh: Handle[],
  finalId: Uint8Array | undefined,
  replaced: Handle[],
): void {
  const { session } = scope;
  const marked: { handle: Handle; id: Buffer | undefined }[] = [];
  try {
    for (const handle of replaced) {
      const { id } = session.read(handle, ["id"]);
      try {
        session.setAttributes(handle, { id: INCOMPLETE_ID }, "keygen: mark the replaced key");
        marked.push({ handle, id });
      } catch {
        // A key that cannot be changed (CKA_MODIFIABLE false) is destroyed unmarked.
      }
    }
    if (finalId) {
      for (const handle of fresh)
        session.setAttributes(handle, { id: finalId }, "keygen: set the key id");
    }
  } catch (error) {
    for (const { handle, id } of marked) {
      safelyDo(() => {
        session.setAttributes(handle, { id: id ?? Buffer.alloc(0) }, "keygen: restore the key id");
      });
    }
    throw error;
  }
}

/** --force: the old keys go only once the new one is final. */
function destroyReplaced(scope: TokenScope, replaced: Handle[]): void {
  for (const handle of replaced)
    scope.session.destroyObject(handle, "keygen: destroy the replaced key");
}

function safelyDo(fn: () => void): void {
  try {
    fn();
  } catch {
    // Undoing after a failure: the first error is the one reported.
  }
}

/** The new keys are destroyed when anything fails before they are final (signals wait). */
async function undoOnFailure<T>(
  scope: TokenScope,
  fresh: Handle[],
  fn: () => MaybePromise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    for (const handle of fresh) {
      safelyDo(() => {
        scope.session.destroyObject(handle, "keygen: destroy the unfinished key");
      });
    }
    throw error;
  }
}

async function generatePair(
  scope: TokenScope,
  options: KeygenOptions,
  usage: Usage[],
  replaced: Handle[],
  hooks: KeygenHooks,
): Promise<KeygenResult> {
  const spec = options.spec;
  if (isSecretSpec(spec))
    throw new TspError("usage", `keygen: ${spec.keyType} is a secret key, not a pair`);
  const pairUsage = usage.filter((word): word is KeyUsage => word !== "sign-recover");
  const flags = flagAttributes(options.flags);
  const recover = recoverAttributes(usage);
  // The final id goes into the template when it is known and nothing is being replaced;
  // otherwise the pair is made with the provisional INCOMPLETE_ID and settled afterwards.
  const provisional = options.id === undefined || replaced.length > 0;
  const request: PairRequest = {
    mechanism: { mechanism: KEYGEN_MECHANISMS[spec.keyType] },
    publicParams: publicParams(spec),
    label: options.label,
    id: provisional ? INCOMPLETE_ID : options.id,
    usage: pairUsage,
    extractable: options.extractable,
    privateExtra: { ...flags.own, ...recover.privateKey },
    publicExtra: { ...flags.both, ...recover.publicKey },
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
  } catch (error) {
    if ("curve" in spec && isCurveRefusal(error)) {
      throw new TspError(
        "usage",
        `keygen: token "${scope.token.label}" refused the curve ${spec.curve} (the module does not have it)`,
        { ckr: (error as TspError).ckr },
      );
    }
    throw error;
  } finally {
    done?.();
  }
  // The private half first: of a pair interrupted between the two, the public one is flagged.
  const fresh = [keys.privateKey, keys.publicKey];
  const { material, id } = await undoOnFailure(scope, fresh, () => {
    const material = readNewPublicKey(scope, keys.publicKey);
    const id = options.id ?? keyIdOf(material);
    settle(scope, fresh, provisional ? id : undefined, replaced);
    return { material, id };
  });
  destroyReplaced(scope, replaced);
  const privateValues = scope.session.read(keys.privateKey, [
    "sign",
    "decrypt",
    "derive",
    "unwrap",
    "signRecover",
  ]);
  const actual: Usage[] = pairUsageOf(
    privateValues,
    scope.session.read(keys.publicKey, ["verify", "encrypt", "wrap", "derive"]),
  );
  if (privateValues.signRecover === true) actual.push("sign-recover");
  warnUnrequested(actual, [...canonicalPairUsage(pairUsage), ...usage], hooks);
  const described = describeMaterial(material);
  return {
    label: options.label,
    id: Buffer.from(id).toString("hex"),
    keyType: spec.keyType,
    ...(spec.keyType === "rsa"
      ? { bits: described.bits ?? spec.bits }
      : { curve: described.curve ?? spec.curve }),
    usage: actual,
    ...(options.pem === false ? {} : { publicKeyPem: await publicKeyPemOf(material) }),
    uri: formatPkcs11Uri(scope.token, { label: options.label, id }),
  };
}

/**
 * The ASN.1 stack is loaded here only: keygen's table leaves the PEM out, and loading the
 * stack costs a start 3 ms.
 */
async function publicKeyPemOf(material: PublicKeyMaterial): Promise<string> {
  const { spkiOf, spkiToPem } = await import("../asn1/spki.js");
  return spkiToPem(spkiOf(material));
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
  usage: Usage[],
  replaced: Handle[],
  hooks: KeygenHooks,
): Promise<KeygenResult> {
  const spec = options.spec;
  if (!isSecretSpec(spec)) throw new TspError("usage", "keygen: not a secret key type");
  const secretUsage = usage.filter((word): word is KeyUsage => word !== "sign-recover");
  // DES3's length is fixed by the mechanism (SoftHSM refuses CKA_VALUE_LEN for it).
  const valueLen = spec.keyType === "des3" ? undefined : spec.bits / 8;
  // A secret key has no public value to hash: its id is random unless given (node:crypto
  // loaded here, not by every keygen: it costs a start about 5 ms).
  const id = options.id ?? process.getBuiltinModule("node:crypto").randomBytes(20);
  // Replacing: made with the provisional id until the old keys are marked (as for pairs).
  const provisional = replaced.length > 0;
  const handle = await generate((onlyRequested) => {
    const template: Attribute[] = secretTemplate(
      {
        label: options.label,
        id: provisional ? INCOMPLETE_ID : id,
        usage: secretUsage,
        extractable: options.extractable,
        valueLen,
        privateExtra: flagAttributes(options.flags).own,
      },
      onlyRequested,
    );
    return scope.session.generateKey(
      { mechanism: KEYGEN_MECHANISMS[spec.keyType] },
      template,
      "keygen: generate the key",
    );
  }, hooks);
  await undoOnFailure(scope, [handle], () => {
    settle(scope, [handle], provisional ? id : undefined, replaced);
  });
  destroyReplaced(scope, replaced);
  const actual = usageOf(scope.session.read(handle, SECRET_USAGE));
  warnUnrequested(actual, usage, hooks);
  return {
    label: options.label,
    id: Buffer.from(id).toString("hex"),
    keyType: spec.keyType,
    bits: spec.bits,
    usage: actual,
    uri: formatPkcs11Uri(scope.token, { label: options.label, id, type: "secret-key" }),
  };
}
