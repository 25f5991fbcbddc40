/**
 * edit-object: a new label, id or usage for every object the selector matches (as
 * `pkcs11-tool --set-id`, `p11tool --set-label` and Mastercard's p11setattr do). A key pair and
 * its certificate move together: a new id also goes to the objects that share the old one.
 * All or nothing: conflicts and unmodifiable objects are refused before any change, and a
 * change the module refuses half-way is undone.
 */
import { TspError } from "../errors.js";
import type { AttributeInput, AttributeName } from "../pkcs11/attributes.js";
import { isCkr } from "../pkcs11/ckr.js";
import type { Handle } from "../pkcs11/lib.js";
import type { ObjectClass } from "../pkcs11/names.js";
import { CLASS_VALUES } from "../pkcs11/names.js";
import type { TokenScope } from "../pkcs11/token.js";
import type { ListedObject, ListObjectsOptions, ObjectJson } from "./list-objects.js";
import { describeHandles, findListedObjects } from "./list-objects.js";

export interface EditChanges {
  label?: string | undefined;
  id?: Uint8Array | undefined;
  /** Usage words as --usage takes them; a pair's halves get the counterparts. */
  usage?: readonly string[] | undefined;
}

/** The usage attribute of each word, per class (a public key has no CKA_SIGN). */
const CLASS_USAGE: Partial<Record<ObjectClass, Readonly<Record<string, AttributeName>>>> = {
  "private-key": {
    sign: "sign",
    decrypt: "decrypt",
    derive: "derive",
    unwrap: "unwrap",
    "sign-recover": "signRecover",
  },
  "public-key": {
    verify: "verify",
    encrypt: "encrypt",
    derive: "derive",
    wrap: "wrap",
    "sign-recover": "verifyRecover",
  },
  "secret-key": {
    sign: "sign",
    verify: "verify",
    encrypt: "encrypt",
    decrypt: "decrypt",
    derive: "derive",
    wrap: "wrap",
    unwrap: "unwrap",
  },
};

/** A pair's usage word names both halves' jobs, as keygen's --usage does. */
const PAIR_COUNTERPART: Readonly<Record<string, readonly string[]>> = {
  sign: ["sign", "verify"],
  verify: ["sign", "verify"],
  decrypt: ["decrypt", "encrypt"],
  encrypt: ["decrypt", "encrypt"],
  wrap: ["wrap", "unwrap"],
  unwrap: ["wrap", "unwrap"],
};

function hasChange(changes: EditChanges): boolean {
  return changes.label !== undefined || changes.id !== undefined || changes.usage !== undefined;
}

const keyOf = (handle: Handle): string => handle.toString("hex");

/**
 * What the edit would change: every match, and with a new id (and no --type) every other key
 * or certificate that shares a match's old id, so the pair and its certificate stay paired.
 */
export async function findEditable(
  scope: TokenScope,
  options: ListObjectsOptions,
  changes: EditChanges,
): Promise<ListedObject[]> {
  if (options.id === undefined && options.label === undefined) {
    throw new TspError(
      "usage",
      "edit-object: name the objects with --id, --label or --uri (object= or id=)",
    );
  }
  if (!hasChange(changes)) {
    throw new TspError(
      "usage",
      "edit-object: say what to change: --set-label, --set-id or --set-usage",
    );
  }
  const listed = await findListedObjects(scope, options);
  if (listed.length === 0) throw new TspError("not-found", "edit-object: no object matches");
  if (changes.id !== undefined && options.type === undefined) {
    await addSameIdCompanions(scope, listed);
  }
  refuseInapplicable(listed, changes);
  return listed;
}

async function addSameIdCompanions(scope: TokenScope, listed: ListedObject[]): Promise<void> {
  const seen = new Set(listed.map((entry) => keyOf(entry.handle)));
  const oldIds = new Set(listed.map((entry) => entry.object.id).filter((id) => id !== ""));
  for (const id of oldIds) {
    const same = await findListedObjects(scope, {
      id: Buffer.from(id, "hex"),
    });
    for (const entry of same) {
      if (entry.object.class === "data" || seen.has(keyOf(entry.handle))) continue;
      seen.add(keyOf(entry.handle));
      listed.push(entry);
    }
  }
}

function refuseInapplicable(listed: ListedObject[], changes: EditChanges): void {
  if (changes.id !== undefined && listed.some((entry) => entry.object.class === "data")) {
    throw new TspError("usage", "edit-object: data objects have no CKA_ID (select with --type)");
  }
  if (changes.usage !== undefined && !listed.some((entry) => CLASS_USAGE[entry.object.class])) {
    throw new TspError("usage", "edit-object: --set-usage applies to keys; no key matches");
  }
}

/**
 * Exit 6 when the new id or label is another object's of the same class, or would be shared
 * by two of the matches of one class (either would make selection by it ambiguous).
 */
export function checkConflicts(
  scope: TokenScope,
  listed: readonly ListedObject[],
  changes: EditChanges,
): void {
  const matched = new Set(listed.map((entry) => keyOf(entry.handle)));
  const byClass = new Map<ObjectClass, number>();
  for (const { object } of listed) byClass.set(object.class, (byClass.get(object.class) ?? 0) + 1);
  const checks: [string, AttributeInput][] = [];
  if (changes.label !== undefined)
    checks.push([`label "${changes.label}"`, { label: changes.label }]);
  if (changes.id !== undefined)
    checks.push([`id ${Buffer.from(changes.id).toString("hex")}`, { id: changes.id }]);
  for (const [what, query] of checks) {
    for (const [cls, count] of byClass) {
      const others = scope.session
        .findObjects({ ...query, class: CLASS_VALUES[cls] })
        .filter((handle) => !matched.has(keyOf(handle)));
      if (others.length > 0) {
        throw new TspError(
          "conflict",
          `edit-object: another ${cls.replace("-", " ")} on token "${scope.token.label}" has ${what} (use --force)`,
        );
      }
      if (count > 1) {
        throw new TspError(
          "conflict",
          `edit-object: ${count} matching ${cls.replace("-", " ")}s would share ${what} (use --force)`,
        );
      }
    }
  }
}

/** The attributes one object gets: label, id, and its class's usage attributes. */
function templateFor(cls: ObjectClass, changes: EditChanges): AttributeInput {
  const template: Record<string, unknown> = {};
  if (changes.label !== undefined) template.label = changes.label;
  if (changes.id !== undefined && cls !== "data") template.id = changes.id;
  const table = CLASS_USAGE[cls];
  if (changes.usage !== undefined && table) {
    const pair = cls !== "secret-key";
    const wanted = new Set(
      changes.usage.flatMap((word) => (pair ? (PAIR_COUNTERPART[word] ?? [word]) : [word])),
    );
    for (const [word, attribute] of Object.entries(table)) template[attribute] = wanted.has(word);
  }
  return template;
}

/** CKA_ name of an attribute name: signRecover → CKA_SIGN_RECOVER. */
function ckaName(name: string): string {
  return `CKA_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

function describeObject(object: ObjectJson): string {
  return `${object.class} "${object.label}"`;
}

/** Objects whose CKA_MODIFIABLE is false take no change at all: refused before any change. */
function refuseUnmodifiable(scope: TokenScope, listed: readonly ListedObject[]): void {
  const fixed = listed.filter(
    ({ handle }) => scope.session.read(handle, ["modifiable"]).modifiable === false,
  );
  if (fixed.length > 0) {
    throw new TspError(
      "failure",
      `edit-object: CKA_MODIFIABLE is false on ${fixed.map((e) => describeObject(e.object)).join(", ")}; nothing was changed`,
      { ckr: "CKR_ACTION_PROHIBITED" },
    );
  }
}

interface Applied {
  handle: Handle;
  before: AttributeInput;
}

/**
 * Tries each attribute of a refused template alone (and puts back each that took): the ones
 * the module refuses to change.
 */
function readOnlyAttributes(
  scope: TokenScope,
  handle: Handle,
  template: AttributeInput,
  before: AttributeInput,
): string[] {
  const refused: string[] = [];
  for (const [name, value] of Object.entries(template) as [AttributeName, unknown][]) {
    try {
      scope.session.setAttributes(handle, { [name]: value }, "edit-object: try one attribute");
    } catch (error) {
      if (!isCkr(error, "CKR_ATTRIBUTE_READ_ONLY", "CKR_ACTION_PROHIBITED")) throw error;
      refused.push(ckaName(name));
      continue;
    }
    if (before[name] !== undefined) {
      scope.session.setAttributes(handle, { [name]: before[name] }, "edit-object: undo a change");
    }
  }
  return refused;
}

function rollBack(scope: TokenScope, applied: readonly Applied[]): void {
  for (const { handle, before } of [...applied].reverse()) {
    scope.session.setAttributes(handle, before, "edit-object: undo a change");
  }
}

/** Applies the changes to every object; a refusal undoes what was done and names the attributes. */
export async function runEditObjects(
  scope: TokenScope,
  listed: readonly ListedObject[],
  changes: EditChanges,
  force: boolean,
): Promise<ObjectJson[]> {
  if (!force) checkConflicts(scope, listed, changes);
  refuseUnmodifiable(scope, listed);
  const applied: Applied[] = [];
  for (const { handle, object } of listed) {
    const template = templateFor(object.class, changes);
    const names = Object.keys(template) as AttributeName[];
    if (names.length === 0) continue;
    const before = scope.session.read(handle, names) as AttributeInput;
    try {
      scope.session.setAttributes(
        handle,
        template,
        `edit-object: change ${describeObject(object)}`,
      );
    } catch (error) {
      rollBack(scope, applied);
      if (!isCkr(error, "CKR_ATTRIBUTE_READ_ONLY", "CKR_ACTION_PROHIBITED")) throw error;
      const refused = readOnlyAttributes(scope, handle, template, before);
      throw new TspError(
        "failure",
        `edit-object: the token does not let ${refused.join(", ") || "these attributes"} of ${describeObject(object)} change; nothing was changed`,
        { ckr: "CKR_ATTRIBUTE_READ_ONLY" },
      );
    }
    applied.push({ handle, before });
  }
  const after = await describeHandles(
    scope.session,
    scope.token,
    listed.map((entry) => entry.handle),
  );
  return after.map((entry) => entry.object);
}
