/**
 * read-object, delete-object and edit-object from the API's JSON form, with the CLI's
 * selection rules: a URI selects exactly what its attributes name, its token attributes
 * must name the token worked on, and a field that contradicts the URI is a usage error.
 * serve takes `object` from the path, the selector from the query and the changes from the
 * body; batch's `args` holds them all under the same names.
 */
import { findDeletable, runDeleteObjects } from "../../core/delete-object.js";
import { findEditable, runEditObjects } from "../../core/edit-object.js";
import { keySelectorOf } from "../../core/find-key.js";
import type { ListObjectsOptions } from "../../core/list-objects.js";
import { objectFilterOf, readTypeOf } from "../../core/object-filter.js";
import type { ReadObjectResult, ReadType } from "../../core/read-object.js";
import { readObjectJson, runReadObject } from "../../core/read-object.js";
import { TspError } from "../../errors.js";
import { parseHexId } from "../../options.js";
import { CLASS_VALUES } from "../../pkcs11/names.js";
import type { TokenScope } from "../../pkcs11/token.js";
import type { Pkcs11Uri } from "../../pkcs11/uri.js";
import { libraryMismatch, parsePkcs11Uri, tokenMatches } from "../../pkcs11/uri.js";
import type { EditObjectBody, ObjectSelectorQuery, ReadObjectQuery } from "../../serve/schemas.js";
import {
  EDIT_OBJECT_BODY,
  OBJECT_PATH_PARAMS,
  OBJECT_SELECTOR_QUERY,
  READ_OBJECT_QUERY,
} from "../../serve/schemas.js";
import { defineOperation, mergedSchema, usageOf } from "../operation.js";

/** read-object's arguments: the path's `{uri-or-id}` as `object`, and the query. */
export type ReadObjectArgs = ReadObjectQuery & { object: string };

/** edit-object's arguments: the selector (serve's query) and the changes (its body). */
export type EditObjectArgs = ObjectSelectorQuery & EditObjectBody;

/** A URI in an operation's arguments: the PIN and the module are the request's or the batch's. */
export function parseOperationUri(text: string): Pkcs11Uri {
  const uri = parsePkcs11Uri(text);
  if (uri.pinValue !== undefined || uri.pinSource !== undefined) {
    throw new TspError(
      "usage",
      "invalid PKCS#11 URI: pin-value and pin-source have no place here; the PIN is the request's (X-PKCS11-PIN) or the batch's (--pin)",
    );
  }
  if (uri.modulePath !== undefined || uri.moduleName !== undefined) {
    throw new TspError(
      "usage",
      "invalid PKCS#11 URI: module-path and module-name have no place here; the module is the server's or the batch's",
    );
  }
  return uri;
}

/** The URI's token and library attributes must name the token worked on (else not found). */
function checkUriToken(scope: TokenScope, uri: Pkcs11Uri | undefined): void {
  if (!uri) return;
  const facts = {
    slotId: scope.slot.id,
    slotDescription: scope.slot.description,
    slotManufacturer: scope.slot.manufacturer,
    token: scope.token,
  };
  let why = tokenMatches(uri, facts) ? undefined : "its token attributes name another token";
  if (
    why === undefined &&
    (uri.libraryManufacturer ?? uri.libraryDescription ?? uri.libraryVersion) !== undefined
  ) {
    const info = scope.module.info();
    why = libraryMismatch(uri, {
      manufacturer: info.manufacturerID.trim(),
      description: info.libraryDescription.trim(),
      version: info.libraryVersion,
    });
  }
  if (why !== undefined) {
    throw new TspError("not-found", `the URI does not select token "${scope.token.label}": ${why}`);
  }
}

/** What `object` names: a URI, or an id in hex (then `type` says what to read). */
function readSelection(object: string, type: ReadType | undefined) {
  const uri = object.startsWith("pkcs11:") ? parseOperationUri(object) : undefined;
  const id = uri ? undefined : parseHexId(object);
  return {
    uri,
    type: readTypeOf(type, uri?.type, "?type="),
    selector: keySelectorOf(undefined, id, uri, "?label="),
  };
}

/**
 * Without the PIN a request sees only public objects, though another request's login shows
 * the private ones to every session of the server: a private value read then is not its.
 */
function isPublicObject(scope: TokenScope, read: ReadObjectResult): boolean {
  if (read.class === "data") return read.secret !== true;
  if (read.class !== "certificate") return true;
  const found = scope.session.findObjects({
    class: CLASS_VALUES.certificate,
    label: read.label,
    id: Buffer.from(read.id, "hex"),
    private: false,
  });
  return found.length > 0;
}

/** The selection of delete-object and edit-object: delete-object's rules, exactly. */
function selectionOf(query: ObjectSelectorQuery): {
  uri: Pkcs11Uri | undefined;
  filter: ListObjectsOptions;
} {
  const uri = query.uri === undefined ? undefined : parseOperationUri(query.uri);
  const flags = {
    type: query.type,
    id: query.id === undefined ? undefined : parseHexId(query.id),
    label: query.label,
  };
  return { uri, filter: objectFilterOf(flags, uri) };
}

const OBJECT_ARG = {
  type: "object",
  required: ["object"],
  properties: {
    object: (OBJECT_PATH_PARAMS.properties as Record<string, unknown>).object,
  },
};

export const readObjectOperation = defineOperation<ReadObjectArgs>({
  schema: mergedSchema(OBJECT_ARG, READ_OBJECT_QUERY),
  // Keys are private objects: their values only for the PIN's holder.
  login: (args) => {
    const { type } = readSelection(args.object, args.type);
    return type === "privkey" || type === "secret" ? "required" : "if-pin";
  },
  writes: false,
  prepare(args) {
    // Checked before the token is touched: a bad URI or selector is a usage error.
    const { uri, type, selector } = readSelection(args.object, args.type);
    return ({ scope, authenticated }) => {
      checkUriToken(scope, uri);
      const read = runReadObject(scope, type, selector);
      if (!authenticated && !isPublicObject(scope, read)) {
        throw new TspError(
          "auth",
          `read-object: the ${read.class} "${read.label}" is private: send the PIN in X-PKCS11-PIN`,
        );
      }
      return Promise.resolve(readObjectJson(read, args.format ?? "pem"));
    };
  },
});

export const deleteObjectOperation = defineOperation<ObjectSelectorQuery>({
  schema: OBJECT_SELECTOR_QUERY,
  login: "required",
  writes: true,
  prepare(query) {
    const { uri, filter } = selectionOf(query);
    return async ({ scope }) => {
      checkUriToken(scope, uri);
      return runDeleteObjects(scope, await findDeletable(scope, filter));
    };
  },
});

export const editObjectOperation = defineOperation<EditObjectArgs>({
  schema: mergedSchema(OBJECT_SELECTOR_QUERY, EDIT_OBJECT_BODY),
  login: "required",
  writes: true,
  prepare(args) {
    const { uri, filter } = selectionOf(args);
    const changes = {
      label: args.setLabel,
      id: args.setId === undefined ? undefined : parseHexId(args.setId),
      usage: usageOf(args.setUsage),
    };
    return async ({ scope }) => {
      checkUriToken(scope, uri);
      const listed = await findEditable(scope, filter, changes);
      return runEditObjects(scope, listed, changes, args.force === true);
    };
  },
});
