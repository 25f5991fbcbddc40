/**
 * Attributes as a table (graphene's idea): each name the code uses, its CKA_ type and how
 * its bytes decode. Reading is one templated C_GetAttributeValue per object; only when the
 * module refuses the template (an attribute it lacks or keeps secret) is it read one by one.
 */
import { isCkr } from "./ckr.js";
import type { Attribute, Handle, Pkcs11 } from "./lib.js";
import { ck, ck3 } from "./lib.js";

type Decoder = "bool" | "ulong" | "bytes" | "string";

const SPEC = {
  class: [ck.CKA_CLASS, "ulong"],
  token: [ck.CKA_TOKEN, "bool"],
  private: [ck.CKA_PRIVATE, "bool"],
  label: [ck.CKA_LABEL, "string"],
  id: [ck.CKA_ID, "bytes"],
  keyType: [ck.CKA_KEY_TYPE, "ulong"],
  sensitive: [ck.CKA_SENSITIVE, "bool"],
  extractable: [ck.CKA_EXTRACTABLE, "bool"],
  modifiable: [ck.CKA_MODIFIABLE, "bool"],
  alwaysAuthenticate: [ck.CKA_ALWAYS_AUTHENTICATE, "bool"],
  sign: [ck.CKA_SIGN, "bool"],
  verify: [ck.CKA_VERIFY, "bool"],
  encrypt: [ck.CKA_ENCRYPT, "bool"],
  decrypt: [ck.CKA_DECRYPT, "bool"],
  wrap: [ck.CKA_WRAP, "bool"],
  unwrap: [ck.CKA_UNWRAP, "bool"],
  derive: [ck.CKA_DERIVE, "bool"],
  signRecover: [ck.CKA_SIGN_RECOVER, "bool"],
  verifyRecover: [ck.CKA_VERIFY_RECOVER, "bool"],
  modulus: [ck.CKA_MODULUS, "bytes"],
  modulusBits: [ck.CKA_MODULUS_BITS, "ulong"],
  publicExponent: [ck.CKA_PUBLIC_EXPONENT, "bytes"],
  // An RSA private key's own numbers: written on import, never read back (sensitive).
  privateExponent: [ck.CKA_PRIVATE_EXPONENT, "bytes"],
  prime1: [ck.CKA_PRIME_1, "bytes"],
  prime2: [ck.CKA_PRIME_2, "bytes"],
  exponent1: [ck.CKA_EXPONENT_1, "bytes"],
  exponent2: [ck.CKA_EXPONENT_2, "bytes"],
  coefficient: [ck.CKA_COEFFICIENT, "bytes"],
  ecParams: [ck.CKA_EC_PARAMS, "bytes"],
  ecPoint: [ck.CKA_EC_POINT, "bytes"],
  valueLen: [ck.CKA_VALUE_LEN, "ulong"],
  value: [ck.CKA_VALUE, "bytes"],
  certificateType: [ck.CKA_CERTIFICATE_TYPE, "ulong"],
  subject: [ck.CKA_SUBJECT, "bytes"],
  issuer: [ck.CKA_ISSUER, "bytes"],
  serialNumber: [ck.CKA_SERIAL_NUMBER, "bytes"],
  application: [ck.CKA_APPLICATION, "string"],
  publicKeyInfo: [ck3.CKA_PUBLIC_KEY_INFO, "bytes"],
  destroyable: [ck.CKA_DESTROYABLE, "bool"],
  allowedMechanisms: [ck.CKA_ALLOWED_MECHANISMS, "bytes"],
} as const satisfies Record<string, readonly [number, Decoder]>;

export type AttributeName = keyof typeof SPEC;

type ValueOf<D extends Decoder> = D extends "bool"
  ? boolean
  : D extends "ulong"
    ? number
    : D extends "string"
      ? string
      : Buffer;

export type AttributeValues = { [K in AttributeName]?: ValueOf<(typeof SPEC)[K][1]> };

/** Values an object is written or searched with. */
export type AttributeInput = {
  [K in AttributeName]?: ValueOf<(typeof SPEC)[K][1]> | Uint8Array;
};

export function toTemplate(values: AttributeInput): Attribute[] {
  const template: Attribute[] = [];
  for (const [name, value] of Object.entries(values) as [
    AttributeName,
    AttributeInput[AttributeName],
  ][]) {
    if (value === undefined) continue;
    const [type] = SPEC[name];
    template.push({ type, value: value instanceof Uint8Array ? Buffer.from(value) : value });
  }
  return template;
}

function decode(decoder: Decoder, bytes: Buffer): boolean | number | string | Buffer {
  switch (decoder) {
    case "bool":
      return bytes.length > 0 && bytes[0] !== 0;
    case "ulong":
      return bytes.length >= 8
        ? Number(bytes.readBigUInt64LE(0))
        : bytes.length >= 4
          ? bytes.readUInt32LE(0)
          : 0;
    case "string":
      return bytes.toString("utf8");
    case "bytes":
      return bytes;
  }
}

/** A CK_ULONG array attribute (CKA_ALLOWED_MECHANISMS): 8 bytes each on 64-bit Unix. */
export function ulongList(bytes: Uint8Array): number[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const list: number[] = [];
  for (let at = 0; at + 8 <= buffer.length; at += 8) {
    list.push(Number(buffer.readBigUInt64LE(at)));
  }
  return list;
}

/**
 * Reads the named attributes of one object. Attributes the object does not have, or keeps
 * secret, are left out of the result.
 */
export function readAttributes<N extends AttributeName>(
  lib: Pkcs11,
  session: Handle,
  object: Handle,
  names: readonly N[],
): Pick<AttributeValues, N> {
  return (
    tryReadAttributes(lib, session, object, names) ??
    collect(
      names,
      names.map((name) => readOne(lib, session, object, SPEC[name][0])),
    )
  );
}

/**
 * The named attributes in one read, or undefined when the module refuses the template (an
 * attribute the object lacks or keeps secret): for callers that can try another template.
 */
export function tryReadAttributes<N extends AttributeName>(
  lib: Pkcs11,
  session: Handle,
  object: Handle,
  names: readonly N[],
): Pick<AttributeValues, N> | undefined {
  const template = names.map((name) => ({ type: SPEC[name][0] }));
  // A refused template is an expected answer here (listings guess templates): the stack
  // traces of pkcs11js's two error objects would cost more than the read itself.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const values = lib.C_GetAttributeValue(session, object, template);
    return collect(
      names,
      values.map((attribute) => attribute.value as Buffer | undefined),
    );
  } catch (error) {
    if (isCkr(error, "CKR_ATTRIBUTE_TYPE_INVALID", "CKR_ATTRIBUTE_SENSITIVE")) return undefined;
    throw error;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

function readOne(lib: Pkcs11, session: Handle, object: Handle, type: number): Buffer | undefined {
  try {
    const [attribute] = lib.C_GetAttributeValue(session, object, [{ type }]);
    return attribute?.value;
  } catch (error) {
    if (isCkr(error, "CKR_ATTRIBUTE_TYPE_INVALID", "CKR_ATTRIBUTE_SENSITIVE")) return undefined;
    throw error;
  }
}

function collect<N extends AttributeName>(
  names: readonly N[],
  values: readonly (Buffer | undefined)[],
): Pick<AttributeValues, N> {
  const result: Record<string, unknown> = {};
  names.forEach((name, i) => {
    const bytes = values[i];
    if (bytes !== undefined) result[name] = decode(SPEC[name][1], bytes);
  });
  return result as Pick<AttributeValues, N>;
}
