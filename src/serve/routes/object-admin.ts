/**
 * One object or a selection of them: GET /v1/tokens/{label}/objects/{uri-or-id}
 * (read-object), DELETE /v1/tokens/{label}/objects?uri=... (delete-object) and PATCH
 * (edit-object), through batch's operations (the CLI's selection rules: a URI selects
 * exactly what its attributes name, its token attributes must name the token of the path,
 * and an option (query field) that contradicts the URI is a 400).
 */
import { loginOf } from "../../batch/operation.js";
import {
  deleteObjectOperation,
  editObjectOperation,
  readObjectOperation,
} from "../../batch/operations/objects.js";
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

const quiet = (): void => undefined;

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
      const args = { ...query, object: params.object };
      const run = await readObjectOperation.prepare(args);
      const need = loginOf(readObjectOperation, args);
      return tokens.withToken(params.label, pin, need, ({ scope, authenticated }) =>
        run({ scope, authenticated, warn: quiet }),
      );
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
      const run = await deleteObjectOperation.prepare(query);
      return tokens.withToken(
        params.label,
        pin,
        "required",
        ({ scope, authenticated }) => run({ scope, authenticated, warn: quiet }),
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
      const run = await editObjectOperation.prepare({ ...query, ...body });
      return tokens.withToken(
        params.label,
        pin,
        "required",
        ({ scope, authenticated }) => run({ scope, authenticated, warn: quiet }),
        { writes: true },
      );
    },
  }),
];
