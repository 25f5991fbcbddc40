/**
 * The elliptic curves tsp11 knows, as a table. This file imports no ASN.1 library on purpose:
 * fast paths (keygen argument parsing, list-objects) load it without pulling in the schemas,
 * so CKA_EC_PARAMS are matched as known DER byte strings (hex) rather than decoded.
 */
import { toHex } from "./bytes.js";

export type CurveName =
  | "prime256v1"
  | "secp384r1"
  | "secp521r1"
  | "secp256k1"
  | "brainpoolP256r1"
  | "brainpoolP384r1"
  | "brainpoolP512r1"
  | "ed25519"
  | "ed448"
  | "x25519"
  | "x448";

export interface Curve {
  /** OpenSSL short name, the contract's `curve` value. */
  readonly name: CurveName;
  /** Other spellings accepted on input (JOSE, SEC 2, RFC 8410, pkcs11-tool). */
  readonly aliases: readonly string[];
  readonly oid: string;
  /** DER of the named-curve OID: the CKA_EC_PARAMS value tsp11 writes. */
  readonly ecParamsHex: string;
  /** Other CKA_EC_PARAMS encodings modules use for the same curve (read only, never written). */
  readonly altEcParamsHex: readonly string[];
  /** Bytes of one coordinate (ECDSA r/s halves), or of the raw key for Edwards curves. */
  readonly fieldBytes: number;
  /** Key size as OpenSSL reports it (EVP_PKEY_get_bits). */
  readonly bits: number;
  readonly keyType: "ec" | "ec-edwards" | "ec-montgomery";
}

export const CURVES: readonly Curve[] = [
  {
    name: "prime256v1",
    aliases: ["P-256", "secp256r1", "nistp256", "P256"],
    oid: "1.2.840.10045.3.1.7",
    ecParamsHex: "06082a8648ce3d030107",
    altEcParamsHex: [],
    fieldBytes: 32,
    bits: 256,
    keyType: "ec",
  },
  {
    name: "secp384r1",
    aliases: ["P-384", "nistp384", "P384"],
    oid: "1.3.132.0.34",
    ecParamsHex: "06052b81040022",
    altEcParamsHex: [],
    fieldBytes: 48,
    bits: 384,
    keyType: "ec",
  },
  {
    name: "secp521r1",
    aliases: ["P-521", "nistp521", "P521"],
    oid: "1.3.132.0.35",
    ecParamsHex: "06052b81040023",
    altEcParamsHex: [],
    fieldBytes: 66,
    bits: 521,
    keyType: "ec",
  },
  {
    name: "secp256k1",
    aliases: ["P-256K", "ansip256k1"],
    oid: "1.3.132.0.10",
    ecParamsHex: "06052b8104000a",
    altEcParamsHex: [],
    fieldBytes: 32,
    bits: 256,
    keyType: "ec",
  },
  {
    name: "brainpoolP256r1",
    aliases: [],
    oid: "1.3.36.3.3.2.8.1.1.7",
    ecParamsHex: "06092b2403030208010107",
    altEcParamsHex: [],
    fieldBytes: 32,
    bits: 256,
    keyType: "ec",
  },
  {
    name: "brainpoolP384r1",
    aliases: [],
    oid: "1.3.36.3.3.2.8.1.1.11",
    ecParamsHex: "06092b240303020801010b",
    altEcParamsHex: [],
    fieldBytes: 48,
    bits: 384,
    keyType: "ec",
  },
  {
    name: "brainpoolP512r1",
    aliases: [],
    oid: "1.3.36.3.3.2.8.1.1.13",
    ecParamsHex: "06092b240303020801010d",
    altEcParamsHex: [],
    fieldBytes: 64,
    bits: 512,
    keyType: "ec",
  },
  {
    name: "ed25519",
    aliases: ["Ed25519", "edwards25519", "id-Ed25519"],
    oid: "1.3.101.112",
    ecParamsHex: "06032b6570",
    // SoftHSM and OpenSC write PKCS#11 3.0's alternative: PrintableString "edwards25519".
    altEcParamsHex: ["130c656477617264733235353139"],
    fieldBytes: 32,
    bits: 256,
    keyType: "ec-edwards",
  },
  {
    name: "ed448",
    aliases: ["Ed448", "edwards448", "id-Ed448"],
    oid: "1.3.101.113",
    ecParamsHex: "06032b6571",
    // PrintableString "edwards448", as above.
    altEcParamsHex: ["130a65647761726473343438"],
    fieldBytes: 57,
    bits: 456,
    keyType: "ec-edwards",
  },
  {
    name: "x25519",
    aliases: ["X25519", "curve25519", "id-X25519"],
    oid: "1.3.101.110",
    ecParamsHex: "06032b656e",
    // PrintableString "curve25519", PKCS#11 3.0's alternative.
    altEcParamsHex: ["130a63757276653235353139"],
    fieldBytes: 32,
    bits: 253,
    keyType: "ec-montgomery",
  },
  {
    name: "x448",
    aliases: ["X448", "curve448", "id-X448"],
    oid: "1.3.101.111",
    ecParamsHex: "06032b656f",
    // PrintableString "curve448".
    altEcParamsHex: ["13086375727665343438"],
    fieldBytes: 56,
    bits: 448,
    keyType: "ec-montgomery",
  },
];

/** A curve by its OpenSSL name or any alias, case-insensitively (`EC:P-256` as users type it). */
export function findCurve(nameOrAlias: string): Curve | undefined {
  const wanted = nameOrAlias.trim().toLowerCase();
  return CURVES.find(
    (c) => c.name.toLowerCase() === wanted || c.aliases.some((a) => a.toLowerCase() === wanted),
  );
}

/** The curve whose CKA_EC_PARAMS (DER) these are, in any of the encodings modules use. */
export function curveFromEcParams(der: Uint8Array): Curve | undefined {
  const hex = toHex(der);
  return CURVES.find((c) => c.ecParamsHex === hex || c.altEcParamsHex.includes(hex));
}

/** A curve by its dotted OID. */
export function curveFromOid(oid: string): Curve | undefined {
  return CURVES.find((c) => c.oid === oid);
}
