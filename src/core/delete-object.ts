/**
 * delete-object: every object that matches the selector (as p11tool and Mastercard's p11rm do),
 * so a key pair and its certificate go together when they share an id; --type or the URI's
 * type= narrows it to one class (type=public never takes the private key). What would be deleted
 * is found first; the caller confirms; then each is destroyed.
 */
import { TspError } from "../errors.js";
import type { TokenScope } from "../pkcs11/token.js";
import type { ListedObject, ListObjectsOptions, ObjectJson } from "./list-objects.js";
import { findListedObjects } from "./list-objects.js";
import { requireNamed } from "./object-filter.js";

export async function findDeletable(
  scope: TokenScope,
  options: ListObjectsOptions,
): Promise<ListedObject[]> {
  requireNamed(options, "delete-object");
  const listed = await findListedObjects(scope, options);
  if (listed.length === 0) throw new TspError("not-found", "delete-object: no object matches");
  refuseIndestructible(scope, listed);
  return listed;
}

/**
 * Objects whose CKA_DESTROYABLE is false (keygen --no-destroyable) are refused before anything
 * is destroyed: deleting the rest of a pair would leave half of it.
 */
function refuseIndestructible(scope: TokenScope, listed: readonly ListedObject[]): void {
  const kept = listed.filter(
    ({ handle }) => scope.session.read(handle, ["destroyable"]).destroyable === false,
  );
  if (kept.length === 0) return;
  const names = kept.map(({ object }) => `${object.class} "${object.label}"`).join(", ");
  throw new TspError(
    "failure",
    `delete-object: the token does not allow destroying ${names} (CKA_DESTROYABLE is false); nothing was deleted`,
    { ckr: "CKR_ACTION_PROHIBITED" },
  );
}

export function runDeleteObjects(scope: TokenScope, listed: ListedObject[]): ObjectJson[] {
  for (const { handle, object } of listed) {
    scope.session.destroyObject(handle, `delete ${object.class} "${object.label}"`);
  }
  return listed.map((entry) => entry.object);
}
