/**
 * Schema parsing with the project's error: whatever asn1js says about malformed input, the
 * user gets one usage line naming what was expected.
 *
 * asn1js reads BER and forgives a good deal (long-form or indefinite lengths, trailing bytes,
 * unused bits), so `parseDer` checks that the parsed value serializes back to exactly the
 * input: DER has one encoding per value, and anything else is not DER.
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { TspError } from "../errors.js";
import { bytesEqual } from "./bytes.js";

/** Parses `der` as `type`, leniently: the value only (callers that keep raw bytes use it). */
export function parseBer<T>(der: Uint8Array | ArrayBuffer, type: new () => T, message: string): T {
  try {
    return AsnConvert.parse(der, type);
  } catch (cause) {
    throw new TspError("usage", message, { cause });
  }
}

/**
 * Parses `der` as `type` and requires it to be the value's DER, byte for byte: no trailing
 * bytes, no BER length or tag forms. `message` opens every error ("not a DER X").
 */
export function parseDer<T>(der: Uint8Array | ArrayBuffer, type: new () => T, message: string): T {
  const value = parseBer(der, type, message);
  checkReencodes(value, der instanceof Uint8Array ? der : new Uint8Array(der), message);
  return value;
}

/** Throws unless `value` serializes to exactly `der`. */
export function checkReencodes(value: unknown, der: Uint8Array, message: string): void {
  let reencoded: Uint8Array;
  try {
    reencoded = new Uint8Array(AsnConvert.serialize(value));
  } catch (cause) {
    throw new TspError("usage", `${message}: a value cannot be encoded`, { cause });
  }
  if (bytesEqual(reencoded, der)) return;
  const prefix =
    reencoded.length < der.length && bytesEqual(reencoded, der.subarray(0, reencoded.length));
  const why = prefix
    ? `${plural(der.length - reencoded.length, "trailing byte")} after the structure`
    : "not DER (it does not re-encode to its own bytes: a length, tag or value is malformed)";
  throw new TspError("usage", `${message}: ${why}`);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
