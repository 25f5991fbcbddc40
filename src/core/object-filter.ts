/**
 * The objects list-objects and delete-object act on: --type/--id/--label and the URI's
 * type=/id=/object= together. An option and its URI attribute must agree (exit 2 otherwise);
 * every one given must match the object.
 */
import { TspError } from "../errors.js";
import type { Pkcs11Uri, UriObjectType } from "../pkcs11/uri.js";
import { agreeing } from "../pkcs11/uri.js";
import type { ListObjectsOptions, ObjectType } from "./list-objects.js";
import type { ReadType } from "./read-object.js";

/** The URI's type= as the --type word of list-objects and delete-object. */
const TYPE_OF_URI: Readonly<Record<UriObjectType, ObjectType>> = {
  private: "privkey",
  public: "pubkey",
  cert: "cert",
  "secret-key": "secret",
  data: "data",
};

export interface ObjectFlags {
  type?: ObjectType | undefined;
  id?: Uint8Array | undefined;
  label?: string | undefined;
}

export function objectFilterOf(flags: ObjectFlags, uri: Pkcs11Uri | undefined): ListObjectsOptions {
  const uriType = uri?.type === undefined ? undefined : TYPE_OF_URI[uri.type];
  if (flags.type !== undefined && uriType !== undefined && flags.type !== uriType) {
    throw new TspError(
      "usage",
      `conflicting selectors: --type ${flags.type} and the URI's type=${uri?.type ?? ""}; give one, or the same in both`,
    );
  }
  return {
    type: flags.type ?? uriType,
    id: agreeing("--id", flags.id, "id", uri?.id),
    label: agreeing("--label", flags.label, "object", uri?.object),
  };
}

/** Deleting names its objects by id or label: a class alone (`type=cert`) is not enough. */
export function requireNamed(filter: ListObjectsOptions, command: string): void {
  if (filter.id === undefined && filter.label === undefined) {
    throw new TspError(
      "usage",
      `${command}: name the objects with --id, --label or --uri (object= or id=)`,
    );
  }
}

/** What the URI's type= reads, when --type is not given. */
const READ_TYPE_OF_URI: Readonly<Partial<Record<UriObjectType, ReadType>>> = {
  cert: "cert",
  public: "pubkey",
  data: "data",
};

/**
 * read-object's --type, or what the URI's type= names. `--type pubkey` with `type=private`
 * reads that private key's public half; any other disagreement is a conflict (exit 2).
 * `option` is how the caller spells --type (serve: `type=`).
 */
export function readTypeOf(
  type: ReadType | undefined,
  uriType: UriObjectType | undefined,
  option = "--type",
): ReadType {
  if (type === "pubkey" && uriType === "private") return type;
  const implied = uriType === undefined ? undefined : READ_TYPE_OF_URI[uriType];
  if (type !== undefined && uriType !== undefined && implied !== type) {
    throw new TspError(
      "usage",
      `conflicting selectors: ${option} ${type} and the URI's type=${uriType}`,
    );
  }
  if (type !== undefined) return type;
  if (implied !== undefined) return implied;
  if (uriType === "private") {
    throw new TspError(
      "usage",
      `read-object: the URI names a private key, which is never exported; add ${option} pubkey to read its public half`,
    );
  }
  if (uriType === "secret-key") {
    throw new TspError(
      "usage",
      "read-object: the URI names a secret key; read-object reads cert, pubkey or data",
    );
  }
  throw new TspError(
    "usage",
    `read-object: missing ${option} (cert, pubkey or data) or a URI with type=`,
  );
}
