/**
 * The only importer of pkcs11js. Its module.exports (`{ ...pkcs11, PKCS11 }`) is taken whole,
 * as the default import: Node's ESM loader cannot see its names. The build bundles it (so it
 * runs under the code cache) with that object made cheaply (scripts/build.mjs).
 */
import pkcs11js from "pkcs11js";

export type {
  Attribute,
  Handle,
  MechanismInfo,
  Mechanism,
  ModuleInfo,
  SlotInfo,
  Template,
  TokenInfo,
} from "pkcs11js";

export type Pkcs11 = InstanceType<typeof pkcs11js.PKCS11>;

/** CK* constants by name (CKA_ID, CKM_ECDSA, ...). */
export const ck = pkcs11js;
export const { PKCS11, Pkcs11Error } = pkcs11js;

/** Values pkcs11js 2.1.7 has no (typed) constants for: PKCS#11 3.0 ones, and a slot flag. */
export const ck3 = {
  CKF_TOKEN_PRESENT: 0x1,
  CKK_EC_EDWARDS: 0x40,
  CKK_EC_MONTGOMERY: 0x41,
  CKM_EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  CKM_EC_MONTGOMERY_KEY_PAIR_GEN: 0x1056,
  CKM_EDDSA: 0x1057,
  CKA_PUBLIC_KEY_INFO: 0x129,
} as const;

/** CK_ULONG slot ids come back as native-endian 8-byte buffers. */
export function slotIdOf(handle: Buffer): number {
  return Number(handle.length >= 8 ? handle.readBigUInt64LE(0) : BigInt(handle.readUInt32LE(0)));
}
