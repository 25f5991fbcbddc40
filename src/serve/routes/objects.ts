/** GET /v1/tokens/{label}/objects (list-objects) and POST (write-object). */
import { listObjectsOperation, writeObjectOperation } from "../../batch/operations.js";
import { defineRoute, warnTo } from "../route.js";
import type { ObjectsQuery, WriteObjectBody } from "../schemas.js";
import {
  LABEL_PARAMS,
  OBJECTS_QUERY,
  OBJECTS_RESPONSE,
  WRITE_OBJECT_BODY,
  WRITE_OBJECT_RESPONSE,
} from "../schemas.js";

interface LabelParams {
  label: string;
}

export const objectRoutes = [
  defineRoute<never, ObjectsQuery, LabelParams>({
    method: "GET",
    url: "/v1/tokens/:label/objects",
    operationId: "listObjects",
    summary: "The token's objects (private ones too with the PIN), as tsp11 list-objects --json",
    tag: "objects",
    status: 200,
    pin: true,
    params: LABEL_PARAMS,
    query: OBJECTS_QUERY,
    response: OBJECTS_RESPONSE,
    async handler({ query, params, pin }, { tokens }) {
      const run = await listObjectsOperation.prepare(query);
      return tokens.withToken(params.label, pin, "if-pin", ({ scope, authenticated }) =>
        run({ scope, authenticated, warn: () => undefined }),
      );
    },
  }),
  defineRoute<WriteObjectBody, never, LabelParams>({
    method: "POST",
    url: "/v1/tokens/:label/objects",
    operationId: "writeObject",
    summary: "Store a certificate, public key or data object, as tsp11 write-object --json",
    tag: "objects",
    status: 201,
    pin: true,
    params: LABEL_PARAMS,
    body: WRITE_OBJECT_BODY,
    response: WRITE_OBJECT_RESPONSE,
    async handler({ body, params, pin, log }, { tokens }) {
      // Parsed (and decrypted) before the token is touched: input that does not parse changes nothing (400).
      const run = await writeObjectOperation.prepare(body);
      return tokens.withToken(
        params.label,
        pin,
        "required",
        ({ scope }) => run({ scope, authenticated: true, warn: warnTo(log).warn }),
        { writes: true },
      );
    },
  }),
];
