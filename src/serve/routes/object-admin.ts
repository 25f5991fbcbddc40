/**
 * One object or a selection of them: GET /v1/tokens/{label}/objects/{uri-or-id}
 * (read-object), DELETE /v1/tokens/{label}/objects?uri=... (delete-object) and PATCH
 * (edit-object), with the CLI's selection rules: a URI selects exactly what its attributes
 * name, its token attributes must name the token of the path, and an option (query field)
 * that contradicts the URI is a 400.
 */
import { findDeletable, runDeleteObjects } from "../../core/delete-object.js";
import { findEditable, runEditObjects } from "../../core/edit-object.js";
import { keySelectorOf } from "../../core/find-key.js";
import type { ListObjectsOptions } from "../../core/list-objects.js";
import { objectFilterOf, readTypeOf } from "../../core/object-filter.js";
import type { ReadObjectResult, ReadType } from "../../core/read-object.js";
import { runReadObject } from "../../core/read-object.js";
import { TspError } from "../../errors.js";
import { parseHexId, parseUsage } from "../../options.js";
import { CLASS_VALUES } from "../../pkcs11/names.js";
import type { TokenScope } from "../../pkcs11/token.js";
import type { Pkcs11Uri } from "../../pkcs11/uri.js";
import { libraryMismatch, parsePkcs11Uri, tokenMatches } from "../../pkcs11/uri.js";
import { defineRoute } from "../route.js";
import type {
  EditObjectBody,
  ObjectPathParams,
  ObjectSelectorQuery,
  ReadObjectQuery,
} from "../schemas.js";
import {
  EDIT_OBJECT_BODY,
  LABEL_PARAMS,
  OBJECT_PATH_PARAMS,
  OBJECT_SELECTOR_QUERY,
  OBJECTS_RESPONSE,
  READ_OBJECT_QUERY,
  READ_OBJECT_RESPONSE,
} from "../schemas.js";

/** A URI given to serve: the PIN travels in X-PKCS11-PIN and the module is the server's. */
export function parseServeUri(text: string): Pkcs11Uri {
  const uri = parsePkcs11Uri(text);
  if (uri.pinValue !== undefined || uri.pinSource !== undefined) {
    throw new TspError(
      "usage",
      "invalid PKCS#11 URI: pin-value and pin-source have no place here; send the PIN in the X-PKCS11-PIN header",
    );
  }
  if (uri.modulePath !== undefined || uri.moduleName !== undefined) {
    throw new TspError(
      "usage",
      "invalid PKCS#11 URI: module-path and module-name have no place here; the server's module is fixed",
    );
  }
  return uri;
}

/** The URI's token and library attributes must name the token of the path (else 404). */
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

/** What the path segment names: a URI, or an id in hex (then ?type= says what to read). */
function readSelection(segment: string, type: ReadType | undefined) {
  const uri = segment.startsWith("pkcs11:") ? parseServeUri(segment) : undefined;
  const id = uri ? undefined : parseHexId(segment);
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

/** The answer of read-object --json; format der: the DER (or value) in valueBase64. */
function readAnswer(read: ReadObjectResult, format: "pem" | "der"): Record<string, unknown> {
  const common = { class: read.class, id: read.id, label: read.label, uri: read.uri };
  if (read.pem !== undefined && format === "pem") return { ...common, pem: read.pem };
  return { ...common, valueBase64: Buffer.from(read.bytes).toString("base64") };
}

/** The selection of DELETE and PATCH: delete-object's rules, exactly. */
function selectionOf(query: ObjectSelectorQuery): {
  uri: Pkcs11Uri | undefined;
  filter: ListObjectsOptions;
} {
  const uri = query.uri === undefined ? undefined : parseServeUri(query.uri);
  const flags = {
    type: query.type,
    id: query.id === undefined ? undefined : parseHexId(query.id),
    label: query.label,
  };
  return { uri, filter: objectFilterOf(flags, uri) };
}

export const objectAdminRoutes = [
  defineRoute<never, ReadObjectQuery, ObjectPathParams>({
    method: "GET",
    url: "/v1/tokens/:label/objects/:object",
    operationId: "readObject",
    summary:
      "Read a certificate, public key, data object or extractable key, as tsp11 read-object --json",
    tag: "objects",
    status: 200,
    pin: true,
    params: OBJECT_PATH_PARAMS,
    query: READ_OBJECT_QUERY,
    response: READ_OBJECT_RESPONSE,
    async handler({ query, params, pin }, { tokens }) {
      // Checked before the token is touched: a bad URI or selector is a 400.
      const { uri, type, selector } = readSelection(params.object, query.type);
      // Keys are private objects: their values only for the PIN's holder.
      const need = type === "privkey" || type === "secret" ? "required" : "if-pin";
      return tokens.withToken(params.label, pin, need, ({ scope, authenticated }) => {
        checkUriToken(scope, uri);
        const read = runReadObject(scope, type, selector);
        if (!authenticated && !isPublicObject(scope, read)) {
          throw new TspError(
            "auth",
            `read-object: the ${read.class} "${read.label}" is private: send the PIN in X-PKCS11-PIN`,
          );
        }
        return Promise.resolve(readAnswer(read, query.format ?? "pem"));
      });
    },
  }),
  defineRoute<never, ObjectSelectorQuery, { label: string }>({
    method: "DELETE",
    url: "/v1/tokens/:label/objects",
    operationId: "deleteObjects",
    summary:
      "Delete exactly the objects the URI or id/label/type name, as tsp11 delete-object --yes --json",
    tag: "objects",
    status: 200,
    pin: true,
    params: LABEL_PARAMS,
    query: OBJECT_SELECTOR_QUERY,
    response: OBJECTS_RESPONSE,
    async handler({ query, params, pin }, { tokens }) {
      const { uri, filter } = selectionOf(query);
      return tokens.withToken(
        params.label,
        pin,
        "required",
        async ({ scope }) => {
          checkUriToken(scope, uri);
          return runDeleteObjects(scope, await findDeletable(scope, filter));
        },
        { writes: true },
      );
    },
  }),
  defineRoute<EditObjectBody, ObjectSelectorQuery, { label: string }>({
    method: "PATCH",
    url: "/v1/tokens/:label/objects",
    operationId: "editObjects",
    summary:
      "Change the label, id or usage of the objects the URI or id/label/type name, as tsp11 edit-object --yes --json",
    tag: "objects",
    status: 200,
    pin: true,
    params: LABEL_PARAMS,
    query: OBJECT_SELECTOR_QUERY,
    body: EDIT_OBJECT_BODY,
    response: OBJECTS_RESPONSE,
    async handler({ body, query, params, pin }, { tokens }) {
      const { uri, filter } = selectionOf(query);
      const changes = {
        label: body.setLabel,
        id: body.setId === undefined ? undefined : parseHexId(body.setId),
        usage:
          body.setUsage === undefined
            ? undefined
            : parseUsage(Array.isArray(body.setUsage) ? body.setUsage.join(",") : body.setUsage),
      };
      return tokens.withToken(
        params.label,
        pin,
        "required",
        async ({ scope }) => {
          checkUriToken(scope, uri);
          const listed = await findEditable(scope, filter, changes);
          return runEditObjects(scope, listed, changes, body.force === true);
        },
        { writes: true },
      );
    },
  }),
];
