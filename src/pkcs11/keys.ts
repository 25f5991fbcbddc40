/**
 * Key templates and read-back: what a key pair or secret key is created with, and what it
 * really has afterwards. Every usage attribute is sent explicitly, true or false, because
 * modules such as SoftHSM turn on what a template leaves out.
 */
import type { AttributeInput, AttributeName } from "./attributes.js";
import type { Attribute, Mechanism } from "./lib.js";
import { ck, ck3 } from "./lib.js";
import { toTemplate } from "./attributes.js";

export type KeyUsage = "sign" | "verify" | "encrypt" | "decrypt" | "derive" | "wrap" | "unwrap";

/**
 * The CKA_ID a key carries while keygen makes it (id not known before generation: the SHA-1
 * of the public key) or while it is being replaced (--force). keygen sets the final id or
 * destroys the key before it ends, also on SIGINT/SIGTERM; a key that still has this id was
 * left by a keygen killed outright (kill -9, power loss): list-objects flags it
 * `"incomplete": true` and keygen warns about it. One fixed value, so one search finds them.
 * Hex 74737031312d696e636f6d706c657465 ("tsp11-incomplete").
 */
export const INCOMPLETE_ID: Buffer = Buffer.from("tsp11-incomplete", "ascii");

export function isIncompleteId(id: Uint8Array | undefined): boolean {
  return id !== undefined && Buffer.from(id).equals(INCOMPLETE_ID);
}

/** Usage words → the attribute each half of a pair carries. */
const PRIVATE_USAGE: Readonly<Record<string, AttributeName>> = {
  sign: "sign",
  decrypt: "decrypt",
  derive: "derive",
  unwrap: "unwrap",
};
/** CKA_DERIVE on both halves: NSS turns it on for an EC public key when the template is silent. */
const PUBLIC_USAGE: Readonly<Record<string, AttributeName>> = {
  verify: "verify",
  encrypt: "encrypt",
  wrap: "wrap",
  derive: "derive",
};
/** A secret key carries every usage attribute itself. */
export const SECRET_USAGE: readonly AttributeName[] = [
  "encrypt",
  "decrypt",
  "sign",
  "verify",
  "wrap",
  "unwrap",
  "derive",
];

/** A pair's usage names the private half's job; the public half gets the counterpart. */
const PAIR_COUNTERPART: Readonly<Record<KeyUsage, readonly string[]>> = {
  sign: ["sign", "verify"],
  verify: ["sign", "verify"],
  decrypt: ["decrypt", "encrypt"],
  encrypt: ["decrypt", "encrypt"],
  derive: ["derive"],
  wrap: ["wrap", "unwrap"],
  unwrap: ["wrap", "unwrap"],
};

export interface PairRequest {
  mechanism: Mechanism;
  /** Type-specific public attributes (modulus bits, EC params). */
  publicParams: AttributeInput;
  label: string;
  id: Uint8Array | undefined;
  usage: readonly KeyUsage[];
  extractable: boolean;
  /** Type-specific private attributes: the key material of an imported key. */
  privateParams?: AttributeInput;
  /** keygen's attribute flags (--no-sensitive, --always-auth, ...), sent after the rest. */
  privateExtra?: AttributeInput;
  publicExtra?: AttributeInput;
}

function usageFlags(
  table: Readonly<Record<string, AttributeName>>,
  wanted: Set<string>,
  onlyTrue: boolean,
): AttributeInput {
  const flags: AttributeInput = {};
  for (const [word, attribute] of Object.entries(table)) {
    const on = wanted.has(word);
    if (on || !onlyTrue) (flags as Record<string, boolean>)[attribute] = on;
  }
  return flags;
}

/**
 * Templates for a key pair. `onlyRequested` leaves out the false usages: the retry for
 * modules (tpm2-pkcs11) that answer CKR_GENERAL_ERROR to an explicit false.
 */
export function pairTemplates(
  request: Omit<PairRequest, "mechanism">,
  onlyRequested = false,
): { publicTemplate: Attribute[]; privateTemplate: Attribute[] } {
  const wanted = new Set(request.usage.flatMap((usage) => PAIR_COUNTERPART[usage]));
  const common: AttributeInput = { token: true, label: request.label, id: request.id };
  return {
    publicTemplate: toTemplate({
      ...common,
      class: ck.CKO_PUBLIC_KEY,
      private: false,
      ...request.publicParams,
      ...usageFlags(PUBLIC_USAGE, wanted, onlyRequested),
      // Not a --usage word yet: always off (SoftHSM turns it on when the template is silent).
      ...(onlyRequested ? {} : { verifyRecover: false }),
      ...request.publicExtra,
    }),
    privateTemplate: toTemplate({
      ...common,
      class: ck.CKO_PRIVATE_KEY,
      private: true,
      sensitive: true,
      extractable: request.extractable,
      ...request.privateParams,
      ...usageFlags(PRIVATE_USAGE, wanted, onlyRequested),
      ...(onlyRequested ? {} : { signRecover: false }),
      ...request.privateExtra,
    }),
  };
}

export function secretTemplate(
  request: Omit<PairRequest, "publicParams" | "mechanism" | "publicExtra"> & {
    /** Generation only: an imported key's length is its CKA_VALUE's. */
    valueLen?: number | undefined;
    /** Import: CKA_KEY_TYPE and CKA_VALUE. */
    params?: AttributeInput;
  },
  onlyRequested = false,
): Attribute[] {
  const wanted = new Set<string>(request.usage);
  const flags: AttributeInput = {};
  for (const attribute of SECRET_USAGE) {
    const on = wanted.has(attribute);
    if (on || !onlyRequested) (flags as Record<string, boolean>)[attribute] = on;
  }
  return toTemplate({
    class: ck.CKO_SECRET_KEY,
    token: true,
    private: true,
    sensitive: true,
    extractable: request.extractable,
    label: request.label,
    id: request.id,
    valueLen: request.valueLen,
    ...request.params,
    ...flags,
    ...request.privateExtra,
  });
}

/** Usage words for a secret key's attributes as read back: each attribute that is true. */
export function usageOf(values: Partial<Record<AttributeName, unknown>>): KeyUsage[] {
  const order: KeyUsage[] = ["sign", "verify", "encrypt", "decrypt", "derive", "wrap", "unwrap"];
  return order.filter((usage) => values[usage] === true);
}

/**
 * A pair's usage in --usage's words, from what both halves really have: sign (CKA_SIGN or
 * CKA_VERIFY), decrypt (CKA_DECRYPT or CKA_ENCRYPT), derive, wrap (CKA_UNWRAP or CKA_WRAP).
 */
export function pairUsageOf(
  privateKey: Partial<Record<AttributeName, unknown>>,
  publicKey: Partial<Record<AttributeName, unknown>>,
): KeyUsage[] {
  const words: [KeyUsage, boolean][] = [
    ["sign", privateKey.sign === true || publicKey.verify === true],
    ["decrypt", privateKey.decrypt === true || publicKey.encrypt === true],
    ["derive", privateKey.derive === true || publicKey.derive === true],
    ["wrap", privateKey.unwrap === true || publicKey.wrap === true],
  ];
  return words.filter(([, on]) => on).map(([word]) => word);
}

/** Requested words in the same vocabulary (verify → sign, encrypt → decrypt, unwrap → wrap). */
export function canonicalPairUsage(usage: readonly KeyUsage[]): KeyUsage[] {
  const canonical: Record<KeyUsage, KeyUsage> = {
    sign: "sign",
    verify: "sign",
    decrypt: "decrypt",
    encrypt: "decrypt",
    derive: "derive",
    wrap: "wrap",
    unwrap: "wrap",
  };
  return [...new Set(usage.map((word) => canonical[word]))];
}

export const KEYGEN_MECHANISMS = {
  rsa: ck.CKM_RSA_PKCS_KEY_PAIR_GEN,
  ec: ck.CKM_EC_KEY_PAIR_GEN,
  "ec-edwards": ck3.CKM_EC_EDWARDS_KEY_PAIR_GEN,
  "ec-montgomery": ck3.CKM_EC_MONTGOMERY_KEY_PAIR_GEN,
  aes: ck.CKM_AES_KEY_GEN,
  "generic-secret": ck.CKM_GENERIC_SECRET_KEY_GEN,
  des3: ck.CKM_DES3_KEY_GEN,
} as const;
