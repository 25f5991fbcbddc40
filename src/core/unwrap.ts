/**
 * `tsp11 unwrap`: a wrapped key made a key object on this token (C_UnwrapKey), sensitive and
 * not extractable unless asked. A private key gets its public half from `--public-key`, so
 * the pair is complete (its id the SHA-1 rule of keygen when none is given).
 */
import { TspError, usageError } from "../errors.js";
import type { AttributeInput } from "../pkcs11/attributes.js";
import { toTemplate } from "../pkcs11/attributes.js";
import { unwrapKey } from "../pkcs11/cipher.js";
import { CLASS_VALUES, keyTypeValue } from "../pkcs11/names.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { KeySelector } from "./find-key.js";
import type { PublicKeyMaterial } from "./public-key.js";
import type { WrapName, WrapRequest } from "./wrap.js";
import { checkWrapMechanism, defaultWrapName, findAnyKey, wrapMechanism } from "./wrap.js";
import type { Usage } from "../options.js";
import { lockKeyOf, withTokenLock } from "../pkcs11/token-lock.js";
import type { TokenScope } from "../pkcs11/token.js";

export const UNWRAP_KEY_TYPES = ["aes", "generic", "rsa", "ec", "ed25519"] as const;
export type UnwrapKeyType = (typeof UNWRAP_KEY_TYPES)[number];

export function parseUnwrapKeyType(text: string): UnwrapKeyType {
  const normalized = text.trim().toLowerCase().replace(/:.*$/, "");
  const found = UNWRAP_KEY_TYPES.find(
    (type) => type === normalized || `${type}-secret` === normalized,
  );
  if (!found) {
    throw usageError(`invalid key type "${text}": accepted: ${UNWRAP_KEY_TYPES.join(", ")}`);
  }
  return found;
}

export interface UnwrapRequest extends WrapRequest {
  keyType: UnwrapKeyType;
  label: string;
  id?: Uint8Array | undefined;
  usage?: Usage[] | undefined;
  extractable?: boolean | undefined;
  /** The public half of an unwrapped private key (parsed from --public-key). */
  publicKey?: PublicKeyMaterial | undefined;
}

export interface UnwrapJson {
  mechanism: WrapName;
  label: string;
  id: string;
  keyClass: "secret-key" | "private-key";
  keyType: string;
  publicKey: boolean;
}

const SECRET_USAGES: readonly Usage[] = ["encrypt", "decrypt"];
const PRIVATE_USAGES: readonly Usage[] = ["sign"];

function usageAttributes(usages: readonly Usage[], secret: boolean): AttributeInput {
  const has = (usage: Usage) => usages.includes(usage);
  return {
    sign: has("sign"),
    decrypt: has("decrypt"),
    unwrap: has("unwrap") || has("wrap"),
    derive: has("derive"),
    ...(secret
      ? { encrypt: has("encrypt"), verify: has("verify") || has("sign"), wrap: has("wrap") }
      : {}),
  };
}

function ckkOf(keyType: UnwrapKeyType): number {
  const name =
    keyType === "generic" ? "generic-secret" : keyType === "ed25519" ? "ec-edwards" : keyType;
  const value = keyTypeValue(name);
  if (value === undefined) throw usageError(`unwrap: unknown key type ${keyType}`);
  return value;
}

/**
 * Checks for a clash and creates the key under the token's lock, as keygen and write-object
 * do: of several processes unwrapping under one label at once, one creates it.
 */
export function runUnwrap(
  scope: TokenScope,
  unwrappingSelector: KeySelector,
  wrapped: Uint8Array,
  request: UnwrapRequest,
): Promise<UnwrapJson> {
  return withTokenLock(lockKeyOf(scope), "unwrap", () =>
    Promise.resolve(unwrapUnlocked(scope.session, unwrappingSelector, wrapped, request)),
  );
}

function unwrapUnlocked(
  session: TokenSession,
  unwrappingSelector: KeySelector,
  wrapped: Uint8Array,
  request: UnwrapRequest,
): UnwrapJson {
  const secret = request.keyType === "aes" || request.keyType === "generic";
  if (secret && request.publicKey) throw usageError("--public-key is for private keys only");
  const unwrapping = findAnyKey(session, unwrappingSelector, ["secret-key", "private-key"]);
  const name = request.mechanism ?? defaultWrapName(unwrapping);
  const { unwrap } = session.read(unwrapping.handle, ["unwrap"]);
  if (unwrap !== true) {
    throw usageError(`unwrap: the unwrapping key "${unwrapping.label}" has CKA_UNWRAP false`);
  }
  checkWrapMechanism(session, name, "unwrap");
  // The caller derives a default id from the public key (that code needs the ASN.1 stack).
  const id = request.id;
  const cls = secret ? "secret-key" : "private-key";
  for (const clash of [{ label: request.label }, ...(id ? [{ id }] : [])]) {
    if (session.findObjects({ class: CLASS_VALUES[cls], ...clash }).length > 0) {
      throw new TspError(
        "conflict",
        `unwrap: a ${cls.replace("-", " ")} with that ${"label" in clash ? "label" : "id"} exists`,
      );
    }
  }
  const usages = request.usage ?? (secret ? SECRET_USAGES : PRIVATE_USAGES);
  const template = toTemplate({
    class: CLASS_VALUES[cls],
    keyType: ckkOf(request.keyType),
    token: true,
    private: true,
    sensitive: true,
    extractable: request.extractable === true,
    label: request.label,
    ...(id ? { id } : {}),
    ...usageAttributes(usages, secret),
  });
  const handle = unwrapKey(
    session,
    wrapMechanism(name, request),
    unwrapping.handle,
    wrapped,
    template,
  );
  if (request.publicKey) {
    try {
      const material = request.publicKey;
      session.createObject(
        {
          class: CLASS_VALUES["public-key"],
          keyType: ckkOf(request.keyType),
          token: true,
          private: false,
          label: request.label,
          ...(id ? { id } : {}),
          verify: usages.includes("sign"),
          encrypt: usages.includes("decrypt"),
          ...(material.modulus ? { modulus: material.modulus } : {}),
          ...(material.publicExponent ? { publicExponent: material.publicExponent } : {}),
          ...(material.ecParams ? { ecParams: material.ecParams } : {}),
          ...(material.ecPoint ? { ecPoint: material.ecPoint } : {}),
        },
        "unwrap: store the public key",
      );
    } catch (error) {
      // Never a pair half-made: the private key goes when its public half cannot be stored.
      session.destroyObject(handle, "unwrap: remove the unwrapped key");
      throw error;
    }
  }
  return {
    mechanism: name,
    label: request.label,
    id: id ? Buffer.from(id).toString("hex") : "",
    keyClass: cls,
    keyType:
      request.keyType === "generic"
        ? "generic-secret"
        : request.keyType === "ed25519"
          ? "ec-edwards"
          : request.keyType,
    publicKey: request.publicKey !== undefined,
  };
}
