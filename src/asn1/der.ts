/**
 * Schema parsing with the project's error: whatever asn1js says about malformed input, the
 * user gets one usage line naming what was expected.
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { TspError } from "../errors.js";

export function parseDer<T>(der: Uint8Array | ArrayBuffer, type: new () => T, message: string): T {
  try {
    return AsnConvert.parse(der, type);
  } catch (cause) {
    throw new TspError("usage", message, { cause });
  }
}
