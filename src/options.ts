/**
 * Option parsers shared by several subcommands. Pure: each turns a string into a typed
 * value or throws a usage error (exit 2) that says what is accepted.
 */
import { findCurve } from "./asn1/curves.js";
import { usageError } from "./errors.js";

/** Object ids as `0a1b`, `0x0a1b`, `0a:1b` or `%0a%1b`. */
export function parseHexId(text: string): Uint8Array {
  let hex = text.trim();
  if (/^0x/i.test(hex)) hex = hex.slice(2);
  else if (hex.includes("%")) hex = hex.replaceAll("%", "");
  else if (hex.includes(":")) hex = hex.replaceAll(":", "");
  if (hex === "" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw usageError(`invalid id "${text}": expected hex bytes such as 0a1b, 0a:1b or %0a%1b`);
  }
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** Slot ids in decimal, or hex with 0x. */
export function parseSlotId(text: string): number {
  const value = text.trim();
  if (/^0x[0-9a-f]+$/i.test(value)) return parseInt(value.slice(2), 16);
  if (/^\d+$/.test(value)) return Number(value);
  throw usageError(`invalid slot id "${text}": expected a decimal number or 0x hex`);
}

/** --slot-index: a 0-based position in the module's slot list. */
export function parseSlotIndex(text: string): number {
  const value = text.trim();
  if (/^\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  throw usageError(`invalid slot index "${text}": expected 0, 1, 2, ...`);
}

export type KeySpec =
  | { keyType: "rsa"; bits: number }
  | { keyType: "ec"; curve: string }
  | { keyType: "ec-edwards"; curve: "ed25519" | "ed448" }
  | { keyType: "ec-montgomery"; curve: "x25519" | "x448" }
  | { keyType: "aes"; bits: 128 | 192 | 256 }
  | { keyType: "generic-secret"; bits: number; hmac: boolean }
  | { keyType: "des3"; bits: 192 };

/** Key types whose key is one secret value (C_GenerateKey), not a pair. */
export type SecretKeySpec = Extract<KeySpec, { keyType: "aes" | "generic-secret" | "des3" }>;

export function isSecretSpec(spec: KeySpec): spec is SecretKeySpec {
  return spec.keyType === "aes" || spec.keyType === "generic-secret" || spec.keyType === "des3";
}

/** The Weierstrass curves keygen takes (whether the module has each is its answer). */
const KEYGEN_CURVES = [
  "prime256v1",
  "secp384r1",
  "secp521r1",
  "secp256k1",
  "brainpoolP256r1",
  "brainpoolP384r1",
  "brainpoolP512r1",
];

const KEY_TYPES_HELP =
  "rsa:<1024..8192>, ec:prime256v1|secp384r1|secp521r1|secp256k1|brainpoolP256r1|brainpoolP384r1|brainpoolP512r1, ed25519, ed448, x25519, x448, aes:128|192|256, generic:<bits>, hmac:<bits>, des3";

/** Bare names of the curves with a key type of their own (also as `ec:<name>`). */
function curveKeySpec(name: string): KeySpec | undefined {
  const curve = findCurve(name);
  if (curve?.name === "ed25519" || curve?.name === "ed448")
    return { keyType: "ec-edwards", curve: curve.name };
  if (curve?.name === "x25519" || curve?.name === "x448")
    return { keyType: "ec-montgomery", curve: curve.name };
  return undefined;
}

/** `rsa:2048`, `EC:prime256v1`, `ec:P-256`, `ed25519`, `aes:256`, `hmac:256` (case-insensitive). */
export function parseKeySpec(text: string): KeySpec {
  const [rawKind = "", rawParam = "", ...rest] = text.trim().split(":");
  const kind = rawKind.toLowerCase();
  const param = rawParam.trim();
  const bad = (why: string) =>
    usageError(`invalid key type "${text}": ${why}; accepted: ${KEY_TYPES_HELP}`);
  if (rest.length > 0) throw bad("too many ':'");
  const bare = curveKeySpec(kind);
  if (bare) {
    if (param !== "") throw bad(`${kind} takes no parameter`);
    return bare;
  }
  if (kind === "eddsa" || kind === "ec") {
    const named = curveKeySpec(param.replace(/^edwards/i, "ed"));
    if (named) return named;
  }
  if (kind === "rsa") {
    const bits = Number(param);
    if (!/^\d+$/.test(param) || bits < 1024 || bits > 8192)
      throw bad("RSA size must be 1024..8192 bits");
    return { keyType: "rsa", bits };
  }
  if (kind === "ec") {
    const curve = findCurve(param);
    if (!curve || curve.keyType !== "ec" || !KEYGEN_CURVES.includes(curve.name)) {
      throw bad(`unknown curve "${param}"`);
    }
    return { keyType: "ec", curve: curve.name };
  }
  if (kind === "aes") {
    const bits = Number(param);
    if (bits !== 128 && bits !== 192 && bits !== 256)
      throw bad("AES size must be 128, 192 or 256 bits");
    return { keyType: "aes", bits };
  }
  if (kind === "generic" || kind === "hmac") {
    const bits = Number(param);
    if (!/^\d+$/.test(param) || bits < 8 || bits > 8192 || bits % 8 !== 0)
      throw bad(`${kind} size must be a multiple of 8 bits, 8..8192`);
    return { keyType: "generic-secret", bits, hmac: kind === "hmac" };
  }
  if (kind === "des3") {
    if (param !== "") throw bad("des3 takes no parameter");
    return { keyType: "des3", bits: 192 };
  }
  throw bad(`unknown type "${rawKind}"`);
}

export const USAGES = [
  "sign",
  "verify",
  "encrypt",
  "decrypt",
  "derive",
  "wrap",
  "unwrap",
  "sign-recover",
] as const;
export type Usage = (typeof USAGES)[number];

/**
 * `sign,decrypt` or pkcs11-tool's `--usage-sign` spelling. A key pair's usage names the
 * private half's operation (sign, decrypt, derive, unwrap via wrap); the public half gets
 * the counterpart.
 */
export function parseUsage(text: string): Usage[] {
  const usages = new Set<Usage>();
  for (const raw of text.split(",")) {
    const word = raw
      .trim()
      .toLowerCase()
      .replace(/^--?usage-/, "");
    if (word === "") continue;
    if (!(USAGES as readonly string[]).includes(word)) {
      throw usageError(`invalid usage "${raw.trim()}": accepted: ${USAGES.join(", ")}`);
    }
    usages.add(word as Usage);
  }
  if (usages.size === 0) throw usageError("--usage needs at least one of " + USAGES.join(", "));
  return [...usages];
}
