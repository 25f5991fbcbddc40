/** `tsp11 digest`: a hash computed on the token, the input streamed through C_DigestUpdate. */
import { usageError } from "../errors.js";
import type { HashName } from "../pkcs11/cipher.js";
import { DIGEST_CKM, DigestOperation } from "../pkcs11/cipher.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { Chunks } from "./signing.js";
import { forEachChunk } from "./signing.js";

export type { HashName } from "../pkcs11/cipher.js";

export const DIGEST_NAMES: readonly HashName[] = ["sha256", "sha384", "sha512", "sha1"];

/** `sha256`, `SHA-256`, `CKM_SHA256` (any case). */
export function parseDigestName(text: string): HashName {
  const normalized = text.trim().toLowerCase().replace(/^ckm_/, "").replace(/[-_]/g, "");
  const found = DIGEST_NAMES.find((name) => name === normalized);
  if (!found) {
    throw usageError(`unknown digest "${text}": accepted: ${DIGEST_NAMES.join(", ")}`);
  }
  return found;
}

/** `digest --json`. */
export interface DigestJson {
  mechanism: string;
  digestHex: string;
  output?: string;
}

/** The token's digest of the chunks; a module without the mechanism is a usage error. */
export async function digestStream(
  session: TokenSession,
  hash: HashName,
  chunks: Chunks,
): Promise<Buffer> {
  if (!session.hasMechanism(DIGEST_CKM[hash])) {
    const offered = DIGEST_NAMES.filter((name) => session.hasMechanism(DIGEST_CKM[name]));
    throw usageError(
      `digest: the token offers no CKM_${hash.toUpperCase()}; it offers: ${offered.join(", ") || "no digest"}`,
    );
  }
  const operation = new DigestOperation(session, hash);
  try {
    await forEachChunk(chunks, (chunk) => {
      operation.update(chunk);
    });
  } catch (error) {
    operation.abort();
    throw error;
  }
  return operation.final();
}
