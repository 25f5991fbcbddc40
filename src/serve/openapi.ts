/**
 * /openapi.json, made from the very route objects and schemas the server validates with
 * (OpenAPI 3.1, whose schemas are JSON Schema).
 */
import { VERSION } from "../version.js";
import type { RouteSpec, Schema } from "./route.js";
import { ERROR_SCHEMA } from "./schemas.js";

const ERROR_REF = { $ref: "#/components/schemas/Error" };

function errorResponse(description: string): Schema {
  return { description, content: { "application/json": { schema: ERROR_REF } } };
}

/** Properties of an object schema as OpenAPI parameters (path or query). */
function parametersOf(schema: Schema | undefined, where: "path" | "query"): Schema[] {
  if (!schema) return [];
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    ...(typeof property.description === "string" ? { description: property.description } : {}),
    schema: property,
  }));
}

function operationOf(route: RouteSpec, bearer: boolean): Schema {
  const parameters = [
    ...parametersOf(route.params, "path"),
    ...parametersOf(route.query, "query"),
    ...(route.pin
      ? [
          {
            name: "X-PKCS11-PIN",
            in: "header",
            required: false,
            description: "the user PIN (never logged); needed where the token requires a login",
            schema: { type: "string" },
          },
        ]
      : []),
  ];
  const responses: Schema = {
    [String(route.status)]: {
      description: route.summary,
      content: { "application/json": { schema: route.response } },
    },
    "400": errorResponse("invalid request (usage, exit 2)"),
    ...(route.auth !== false && (bearer || route.pin)
      ? { "401": errorResponse("missing bearer token or wrong PIN (auth, exit 4)") }
      : {}),
    ...(route.params ? { "404": errorResponse("no such token or object (exit 3)") } : {}),
    ...(route.method === "POST" || route.method === "PATCH"
      ? { "409": errorResponse("already exists (conflict, exit 6)") }
      : {}),
    ...(route.body ? { "413": errorResponse("request body over the limit") } : {}),
    "500": errorResponse("the operation failed (exit 1 or 5)"),
  };
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? { requestBody: { required: true, content: { "application/json": { schema: route.body } } } }
      : {}),
    responses,
    ...(route.auth === false || !bearer ? { security: [] } : {}),
  };
}

export interface OpenApiOptions {
  /** A bearer token is required (--auth-token-file). */
  bearer: boolean;
}

export function openApiDocument(routes: readonly RouteSpec[], options: OpenApiOptions): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z]+)/g, "{$1}");
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operationOf(route, options.bearer);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "tsp11 provisioning API",
      version: VERSION,
      description:
        'Tokens, keys, CSRs, certificates and signatures over the same code as the tsp11 CLI: answers are the CLI\'s --json documents, errors its {"error":{...}} object.',
    },
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      ...(options.bearer
        ? { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } }
        : {}),
    },
    ...(options.bearer ? { security: [{ bearer: [] }] } : {}),
  };
}
