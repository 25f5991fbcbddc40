/**
 * One endpoint as data: method, path, schemas, success status and handler. The server
 * registers these with Fastify and builds /openapi.json from the same objects, so the
 * description cannot drift from what is validated.
 */
import type { FastifyBaseLogger } from "fastify";
import { Pin } from "../pin.js";
import type { TokenManager } from "./tokens.js";

export type Schema = Record<string, unknown>;

export interface Services {
  tokens: TokenManager;
}

export interface RouteRequest<Body, Query, Params> {
  body: Body;
  query: Query;
  params: Params;
  /** X-PKCS11-PIN, as a Pin that prints as ***. */
  pin: Pin | undefined;
  log: FastifyBaseLogger;
}

export interface RouteSpec<Body = unknown, Query = unknown, Params = unknown> {
  method: "GET" | "POST" | "DELETE" | "PATCH";
  /** Fastify's form: /v1/tokens/:label/keys. */
  url: string;
  operationId: string;
  summary: string;
  tag: string;
  /** The status of a successful answer (201 for what creates something). */
  status: number;
  /** Documents (and reads) the X-PKCS11-PIN header. */
  pin?: boolean;
  /** false: answered without the bearer token (liveness). */
  auth?: boolean;
  body?: Schema;
  query?: Schema;
  params?: Schema;
  response: Schema;
  // A method signature: handlers of every body type fit one list of routes.
  handler(request: RouteRequest<Body, Query, Params>, services: Services): Promise<unknown>;
}

/** Keeps a route's types together while it is written; the list holds them as RouteSpec. */
export function defineRoute<Body = never, Query = never, Params = never>(
  spec: RouteSpec<Body, Query, Params>,
): RouteSpec {
  return spec;
}

/** The PIN header as a Pin (an empty header is an empty PIN, like `--pin ''`). */
export function pinOf(headers: Record<string, string | string[] | undefined>): Pin | undefined {
  const value = headers["x-pkcs11-pin"];
  if (value === undefined) return undefined;
  return new Pin(Array.isArray(value) ? (value[0] ?? "") : value);
}

/** Warnings of the core (keygen, write-object) go to the request's log. */
export function warnTo(log: FastifyBaseLogger): { warn: (message: string) => void } {
  return {
    warn: (message) => {
      log.warn({ warning: message }, "warning");
    },
  };
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
