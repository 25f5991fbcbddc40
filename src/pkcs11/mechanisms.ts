/**
 * Mechanisms by name, as pkcs11-tool prints them (`SHA256-RSA-PKCS`, `ECDSA-KEY-PAIR-GEN`):
 * the CKM_ name without its prefix, `_` as `-`. The table is built from pkcs11js's CKM_
 * constants, plus the PKCS#11 3.0 values pkcs11js 2.1.7 lacks, with pkcs11-tool's choice
 * where two names share a value. Unknown values print as `0x` hex.
 */
import { step } from "./ckr.js";
import type { Handle, MechanismInfo } from "./lib.js";
import { ck } from "./lib.js";
import type { Pkcs11Module } from "./module.js";

/** PKCS#11 3.0 mechanisms (pkcs11t.h 3.0) that pkcs11js 2.1.7 has no constants for. */
const PKCS11_3_0: Readonly<Record<string, number>> = {
  CKM_SHA3_256_RSA_PKCS: 0x60,
  CKM_SHA3_384_RSA_PKCS: 0x61,
  CKM_SHA3_512_RSA_PKCS: 0x62,
  CKM_SHA3_256_RSA_PKCS_PSS: 0x63,
  CKM_SHA3_384_RSA_PKCS_PSS: 0x64,
  CKM_SHA3_512_RSA_PKCS_PSS: 0x65,
  CKM_SHA3_224_RSA_PKCS: 0x66,
  CKM_SHA3_224_RSA_PKCS_PSS: 0x67,
  CKM_SHA3_256: 0x2b0,
  CKM_SHA3_256_HMAC: 0x2b1,
  CKM_SHA3_256_HMAC_GENERAL: 0x2b2,
  CKM_SHA3_224: 0x2b5,
  CKM_SHA3_224_HMAC: 0x2b6,
  CKM_SHA3_224_HMAC_GENERAL: 0x2b7,
  CKM_SHA3_384: 0x2c0,
  CKM_SHA3_384_HMAC: 0x2c1,
  CKM_SHA3_384_HMAC_GENERAL: 0x2c2,
  CKM_SHA3_512: 0x2d0,
  CKM_SHA3_512_HMAC: 0x2d1,
  CKM_SHA3_512_HMAC_GENERAL: 0x2d2,
  CKM_ECDSA_SHA3_224: 0x1047,
  CKM_ECDSA_SHA3_256: 0x1048,
  CKM_ECDSA_SHA3_384: 0x1049,
  CKM_ECDSA_SHA3_512: 0x104a,
  CKM_EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  CKM_EC_MONTGOMERY_KEY_PAIR_GEN: 0x1056,
  CKM_EDDSA: 0x1057,
  CKM_XEDDSA: 0x1058,
};

/** Values with two CKM_ names: the one pkcs11-tool prints. */
const PREFERRED: Readonly<Record<number, string>> = {
  [ck.CKM_EC_KEY_PAIR_GEN]: "CKM_ECDSA_KEY_PAIR_GEN",
};

let names: Map<number, string> | undefined;

function table(): Map<number, string> {
  if (names) return names;
  names = new Map();
  const constants = Object.entries(ck as unknown as Record<string, unknown>);
  for (const [name, value] of [...constants, ...Object.entries(PKCS11_3_0)]) {
    if (!name.startsWith("CKM_") || typeof value !== "number") continue;
    if (value === ck.CKM_VENDOR_DEFINED) continue;
    const preferred = PREFERRED[value];
    if (preferred !== undefined && preferred !== name) continue;
    if (!names.has(value)) names.set(value, name.slice(4).replaceAll("_", "-"));
  }
  return names;
}

/** pkcs11-tool's name of a mechanism, or `0x` hex for one we do not know. */
export function mechanismName(type: number): string {
  return table().get(type) ?? `0x${type.toString(16)}`;
}

/**
 * A mechanism by pkcs11-tool's name (`SHA256-RSA-PKCS`), its CKM_ name, or `0x` hex;
 * case-insensitive. Undefined for a name tsp11 does not know.
 */
export function mechanismByName(name: string): number | undefined {
  const wanted = name.trim().toUpperCase().replace(/^CKM_/, "").replaceAll("_", "-");
  if (/^0X[0-9A-F]+$/.test(wanted)) return parseInt(wanted.slice(2), 16);
  for (const [value, known] of table()) if (known === wanted) return value;
  const aliases = Object.entries(ck as unknown as Record<string, unknown>);
  for (const [constant, value] of [...aliases, ...Object.entries(PKCS11_3_0)]) {
    if (typeof value !== "number" || !constant.startsWith("CKM_")) continue;
    if (constant.slice(4).replaceAll("_", "-") === wanted) return value;
  }
  return undefined;
}

export interface SlotMechanism {
  type: number;
  info: MechanismInfo;
}

/** The slot's mechanisms in the module's order, each with its C_GetMechanismInfo. */
export function slotMechanisms(module: Pkcs11Module, slot: Handle): SlotMechanism[] {
  const types = step("list mechanisms", () => module.lib.C_GetMechanismList(slot));
  return types.map((type) => ({
    type,
    info: step(`read mechanism info of ${mechanismName(type)}`, () =>
      module.lib.C_GetMechanismInfo(slot, type),
    ),
  }));
}
