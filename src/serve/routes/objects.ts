/** GET /v1/tokens/{label}/objects (list-objects) and POST (write-object). */
import type {
  ImportedObject,
  ImportOptions,
  ImportType,
  PreparedImport,
} from "../../core/import-key.js";
import { prepareImport, runImport } from "../../core/import-key.js";
import { runListObjects } from "../../core/list-objects.js";
import { TspError } from "../../errors.js";
import { Pin } from "../../pin.js";
import { prepareObject, runWriteObject } from "../../core/write-object.js";
import { parseHexId, parseUsage } from "../../options.js";
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
      if (body.type === "privkey" || body.type === "pkcs12" || body.type === "secret") {
        const prepared = await prepareImportBody({ ...body, type: body.type });
        const options = importOptionsOf(body);
        return tokens.withToken(
          params.label,
          pin,
          "required",
          async ({ scope }) =>
            writtenOf(body.type, await runImport(scope, prepared, options, warnTo(log))),
          { writes: true },
        );
      }
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

/** The body's key bytes: PEM text, base64 DER (a bundle, a raw secret) or a secret's hex. */
function importInput(body: WriteObjectBody): Uint8Array {
  if (body.hex !== undefined) {
    if (body.type !== "secret" || body.hex.length % 2 !== 0) {
      throw new TspError(
        "usage",
        "write-object: hex is an even number of hex digits, for type secret",
      );
    }
    return new Uint8Array(Buffer.from(body.hex, "hex"));
  }
  return body.pem !== undefined
    ? new Uint8Array(Buffer.from(body.pem, "utf8"))
    : new Uint8Array(Buffer.from(body.derBase64 ?? "", "base64"));
}

/** Parsed and decrypted before the token is touched; there is no terminal to ask on. */
function prepareImportBody(body: WriteObjectBody & { type: ImportType }): Promise<PreparedImport> {
  return prepareImport(body.type, importInput(body), {
    passphrase: body.keyPass === undefined ? undefined : new Pin(body.keyPass),
    askPassphrase: () =>
      Promise.reject(
        new TspError("auth", "write-object: the key is encrypted and no keyPass was given"),
      ),
    secretKeyType: body.keyType,
  });
}

function importOptionsOf(body: WriteObjectBody): ImportOptions {
  return {
    id: body.id === undefined ? undefined : parseHexId(body.id),
    label: body.label,
    usage:
      body.usage === undefined
        ? undefined
        : parseUsage(Array.isArray(body.usage) ? body.usage.join(",") : body.usage),
    extractable: body.extractable === true,
    publicKey: body.publicKey !== false,
    force: body.force === true,
  };
}

/** A bundle answers with every object written; a key with itself, as the CLI's --json. */
function writtenOf(type: string, written: ImportedObject[]): ImportedObject | ImportedObject[] {
  const [first] = written;
  if (type === "pkcs12" || !first) return written;
  return first;
}
