/** GET /v1/tokens/{label}/objects (list-objects) and POST (write-object). */
import { runListObjects } from "../../core/list-objects.js";
import { prepareObject, runWriteObject } from "../../core/write-object.js";
import { parseHexId } from "../../options.js";
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
      const options = {
        type: query.type,
        id: query.id === undefined ? undefined : parseHexId(query.id),
        label: query.label,
      };
      return tokens.withToken(params.label, pin, "if-pin", async ({ scope, authenticated }) => {
        const objects = await runListObjects(scope.session, scope.token, options);
        // Another request's login shows private objects to every session: not without the PIN.
        return authenticated ? objects : objects.filter((object) => !object.private);
      });
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
      const input =
        body.pem !== undefined
          ? Buffer.from(body.pem, "utf8")
          : Buffer.from(body.derBase64 ?? "", "base64");
      // Parsed before the token is touched: input that does not parse changes nothing (400).
      const prepared = prepareObject(body.type, input);
      const options = {
        id: body.id === undefined ? undefined : parseHexId(body.id),
        label: body.label,
        force: body.force === true,
        private: body.private === true,
      };
      return tokens.withToken(
        params.label,
        pin,
        "required",
        ({ scope }) => Promise.resolve(runWriteObject(scope, prepared, options, warnTo(log))),
        { writes: true },
      );
    },
  }),
];
