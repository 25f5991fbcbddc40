/**
 * keygen's --allowed-mechanisms (and serve's allowedMechanisms): apart from options.ts, which
 * every command loads, because it needs the mechanism table.
 */
import { usageError } from "./errors.js";
import { mechanismByName } from "./pkcs11/mechanisms.js";

/** `ECDSA,SHA256-RSA-PKCS` (pkcs11-tool's names, CKM_ names or 0x hex) → CKM_ values. */
export function parseMechanismList(text: string): number[] {
  const names = text
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) throw usageError("--allowed-mechanisms needs at least one mechanism");
  return names.map((name) => {
    const value = mechanismByName(name);
    if (value === undefined)
      throw usageError(`unknown mechanism "${name}" (names as tsp11 list-mechanisms prints them)`);
    return value;
  });
}
