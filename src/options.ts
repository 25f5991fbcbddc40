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

export type KeySpec =
  | { keyType: "rsa"; bits: number }
  | { keyType: "ec"; curve: string }
  | { keyType: "ec-edwards"; curve: "ed25519" }
  | { keyType: "aes"; bits: 128 | 192 | 256 };

const KEY_TYPES_HELP =
  "rsa:<1024..8192>, ec:prime256v1|secp384r1|secp521r1, ed25519, aes:128|192|256";

/** `rsa:2048`, `EC:prime256v1`, `ec:P-256`, `ed25519`, `aes:256` (case-insensitive). */
export function parseKeySpec(text: string): KeySpec {
  const [rawKind = "", rawParam = "", ...rest] = text.trim().split(":");
  const kind = rawKind.toLowerCase();
  const param = rawParam.trim();
  const bad = (why: string) =>
    usageError(`invalid key type "${text}": ${why}; accepted: ${KEY_TYPES_HELP}`);
  if (rest.length > 0) throw bad("too many ':'");
  if (
    kind === "ed25519" ||
    ((kind === "ec" || kind === "eddsa") && /^(ed|edwards)25519$/i.test(param))
  ) {
    if (kind === "ed25519" && param !== "") throw bad("ed25519 takes no parameter");
    return { keyType: "ec-edwards", curve: "ed25519" };
  }
  if (kind === "rsa") {
    const bits = Number(param);
    if (!/^\d+$/.test(param) || bits < 1024 || bits > 8192)
      throw bad("RSA size must be 1024..8192 bits");
    return { keyType: "rsa", bits };
  }
  if (kind === "ec") {
    const curve = findCurve(param);
    if (
      !curve ||
      curve.keyType !== "ec" ||
      !["prime256v1", "secp384r1", "secp521r1"].includes(curve.name)
    ) {
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
  throw bad(`unknown type "${rawKind}"`);
}

export const USAGES = ["sign", "verify", "encrypt", "decrypt", "derive", "wrap", "unwrap"] as const;
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
