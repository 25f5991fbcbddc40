/** `tsp11 random`: bytes from the token's generator (C_GenerateRandom), bounded. */
import { usageError } from "../errors.js";
import { generateRandom } from "../pkcs11/cipher.js";
import type { TokenSession } from "../pkcs11/session.js";

/** The most one run asks for: 1 MiB, the contract's bound. */
export const MAX_RANDOM_BYTES = 1024 * 1024;

/** A byte count of 1..MAX_RANDOM_BYTES, as given on the command line or in a request. */
export function parseRandomLength(text: string): number {
  const value = text.trim();
  const length = Number(value);
  if (!/^\d+$/.test(value) || length < 1 || length > MAX_RANDOM_BYTES) {
    throw usageError(`invalid byte count "${text}": expected 1..${MAX_RANDOM_BYTES}`);
  }
  return length;
}

/** `random --json`. */
export interface RandomJson {
  length: number;
  randomBase64: string;
  /** The file written, when --output names one. */
  output?: string;
}

export function runRandom(session: TokenSession, length: number): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > MAX_RANDOM_BYTES) {
    throw usageError(`random: ${length} bytes is out of range 1..${MAX_RANDOM_BYTES}`);
  }
  return generateRandom(session, length);
}
