/**
 * `tsp11 derive`: ECDH on the token (C_DeriveKey with CK_ECDH1_DERIVE_PARAMS) between a token
 * private key and a peer's public key, into a new secret key on the token. The peer key is
 * parsed strictly and must be on the private key's curve; the check for an existing label or
 * id and the derivation happen under the token's lock, as keygen's.
 */
import { createHash, randomBytes } from "node:crypto";
import { findCurve } from "../asn1/curves.js";
import { decodePemOrDer } from "../asn1/pem.js";
import type { SpkiInfo } from "../asn1/spki.js";
import { parsePublicKey } from "../asn1/spki.js";
import { withSignalsDeferred } from "../cleanup.js";
import { TspError, usageError } from "../errors.js";
import type { Usage } from "../options.js";
import type { DeriveName, DerivedKeySpec, KdfName } from "./derive-options.js";
import { DERIVE_NAMES } from "./derive-options.js";
import { CIPHER_CKM, deriveKey, ecdhMechanism } from "../pkcs11/cipher.js";
import { ckrOf, isCkr } from "../pkcs11/ckr.js";
import type { KeyUsage } from "../pkcs11/keys.js";
import { isIncompleteId, SECRET_USAGE, secretTemplate, usageOf } from "../pkcs11/keys.js";
import { CLASS_VALUES, keyTypeValue } from "../pkcs11/names.js";
import type { TokenScope } from "../pkcs11/token.js";
import { lockKeyOf, withTokenLock } from "../pkcs11/token-lock.js";
import { formatPkcs11Uri } from "../pkcs11/uri.js";
import type { KeySelector, TokenKey } from "./find-key.js";
import { findKey } from "./find-key.js";
import type { KeygenResult } from "./keygen.js";

/** The peer's public key (PEM or DER SubjectPublicKeyInfo), checked as OpenSSL would. */
export function parsePeerKey(input: Uint8Array): SpkiInfo {
  try {
    const info = parsePublicKey(decodePemOrDer(input, ["PUBLIC KEY"]).der);
    if (info.keyType !== "ec" && info.keyType !== "ec-montgomery") {
      throw usageError(`a ${info.keyType} key cannot take part in ECDH`);
    }
    return info;
  } catch (error) {
    if (!(error instanceof TspError)) throw error;
    throw new TspError(error.kind, `derive: read the peer key: ${error.message}`, {
      cause: error,
    });
  }
}

export interface DeriveOptions {
  spec: DerivedKeySpec;
  label: string;
  id?: Uint8Array | undefined;
  usage?: Usage[] | undefined;
  mechanism?: DeriveName | undefined;
  kdf?: KdfName | undefined;
  extractable?: boolean | undefined;
  /** CKA_SENSITIVE (default true). */
  sensitive?: boolean | undefined;
}

const DEFAULT_USAGE: readonly KeyUsage[] = ["encrypt", "decrypt"];

/** The mechanism is on the token's list, or exit 2 naming it and what the token offers. */
function checkMechanism(scope: TokenScope, name: DeriveName, peer: SpkiInfo): void {
  if (scope.session.hasMechanism(CIPHER_CKM[name])) return;
  const offered = DERIVE_NAMES.filter((n) => scope.session.hasMechanism(CIPHER_CKM[n]));
  throw new TspError(
    "usage",
    `derive: token "${scope.token.label}" does not offer CKM_${name.replaceAll("-", "_")} (${peer.curve ?? "this curve"}); it offers: ${offered.join(", ") || "no ECDH mechanism"}`,
    { ckr: "CKR_MECHANISM_INVALID" },
  );
}

/** The private key may derive, and its curve is the peer's. */
function checkBaseKey(scope: TokenScope, key: TokenKey, peer: SpkiInfo): void {
  if (key.keyType !== "ec" && key.keyType !== "ec-montgomery") {
    throw usageError(`derive: the key "${key.label}" is ${key.keyType}, not an EC or X25519 key`);
  }
  if (key.curve === undefined || key.curve !== peer.curve) {
    throw usageError(
      `derive: the peer key is on ${peer.curve ?? "an unknown curve"}, the key "${key.label}" on ${key.curve ?? "an unknown curve"}`,
    );
  }
  if (scope.session.read(key.handle, ["derive"]).derive !== true) {
    throw usageError(`derive: the key "${key.label}" has CKA_DERIVE false`);
  }
}

/** The secret's length in bytes: at most what ECDH gives with no KDF (the field size). */
function checkLength(spec: DerivedKeySpec, kdf: KdfName, peer: SpkiInfo): void {
  const curve = peer.curve ? findCurve(peer.curve) : undefined;
  if (kdf !== "null" || !curve) return;
  if (spec.bits / 8 > curve.fieldBytes) {
    throw usageError(
      `derive: ${curve.name} gives a ${curve.fieldBytes * 8}-bit secret; --key-type asks for ${spec.bits} bits (use --kdf)`,
    );
  }
}

/** An existing key with the label or id: exit 6, as keygen's. */
function checkConflict(scope: TokenScope, options: DeriveOptions): void {
  const queries = [{ label: options.label }, ...(options.id ? [{ id: options.id }] : [])];
  const keyClasses = [
    CLASS_VALUES["secret-key"],
    CLASS_VALUES["private-key"],
    CLASS_VALUES["public-key"],
  ];
  for (const query of queries) {
    for (const handle of scope.session.findObjects(query)) {
      const { class: cls } = scope.session.read(handle, ["class"]);
      if (cls === undefined || !keyClasses.includes(cls)) continue;
      throw new TspError(
        "conflict",
        `derive: a key with ${"label" in query ? `label "${options.label}"` : `id ${Buffer.from(options.id ?? []).toString("hex")}`} already exists on token "${scope.token.label}"`,
      );
    }
  }
}

/** What a module answers to a KDF or key length it does not do. */
function isParamRefusal(error: unknown): boolean {
  return isCkr(
    error,
    "CKR_MECHANISM_PARAM_INVALID",
    "CKR_KEY_SIZE_RANGE",
    "CKR_TEMPLATE_INCONSISTENT",
    "CKR_ATTRIBUTE_VALUE_INVALID",
  );
}

export async function runDerive(
  scope: TokenScope,
  keySelector: KeySelector,
  peer: SpkiInfo,
  options: DeriveOptions,
): Promise<KeygenResult> {
  const name = options.mechanism ?? "ECDH1-DERIVE";
  const kdf = options.kdf ?? "null";
  if (options.id && isIncompleteId(options.id)) {
    throw usageError("derive: that id marks incomplete keys; choose another --id");
  }
  if (options.usage?.includes("sign-recover")) {
    throw usageError("derive: sign-recover is a key pair's usage, not a secret key's");
  }
  const key = findKey(scope.session, "private-key", keySelector);
  checkBaseKey(scope, key, peer);
  checkMechanism(scope, name, peer);
  checkLength(options.spec, kdf, peer);
  const usage = (options.usage as KeyUsage[] | undefined) ?? [...DEFAULT_USAGE];
  // A secret key has no public value to hash: its id is random unless given (as keygen's).
  const id = options.id ?? createHash("sha1").update(randomBytes(32)).digest();
  return withTokenLock(lockKeyOf(scope), "derive", async () => {
    checkConflict(scope, options);
    const template = secretTemplate({
      label: options.label,
      id,
      usage,
      extractable: options.extractable === true,
      valueLen: options.spec.bits / 8,
      params: { keyType: keyTypeValue(options.spec.keyType) },
      privateExtra: options.sensitive === false ? { sensitive: false } : {},
    });
    const handle = await withSignalsDeferred(() => {
      try {
        return Promise.resolve(
          deriveKey(
            scope.session,
            ecdhMechanism(name, kdf, peer.ecPoint ?? new Uint8Array()),
            key.handle,
            template,
          ),
        );
      } catch (error) {
        if (!isParamRefusal(error)) throw error;
        throw new TspError(
          "usage",
          `derive: token "${scope.token.label}" refused ${name} with --kdf ${kdf} into ${options.spec.keyType}:${options.spec.bits}`,
          { ckr: ckrOf(error), cause: error },
        );
      }
    });
    return {
      label: options.label,
      id: Buffer.from(id).toString("hex"),
      keyType: options.spec.keyType,
      bits: options.spec.bits,
      usage: usageOf(scope.session.read(handle, SECRET_USAGE)),
      uri: formatPkcs11Uri(scope.token, { label: options.label, id, type: "secret-key" }),
    };
  });
}
