/**
 * What an operation is: the API's JSON arguments (serve's request body, query and path
 * parameters; batch's `args`) checked and parsed by `prepare` before any token is touched (a
 * usage error changes nothing), and what that returns run on a token.
 */
import { parseHexId, parseUsage } from "../options.js";
import type { Usage } from "../options.js";
import type { TokenScope } from "../pkcs11/token.js";

type Schema = Record<string, unknown>;

/** What an operation runs with: a token (a session of its own), and where warnings go. */
export interface OperationWork {
  scope: TokenScope;
  /** Logged in with the caller's PIN: private objects are the caller's to see. */
  authenticated: boolean;
  warn: (message: string) => void;
}

export type PreparedOperation = (work: OperationWork) => Promise<unknown>;

/** required: nothing to do without a login; if-pin: a login shows private objects too. */
export type Login = "required" | "if-pin";

export interface Operation<Body = unknown> {
  /** The JSON Schema of its arguments (serve's request body, query and path parameters). */
  schema: Schema;
  /** A constant, or what these arguments need (read-object: keys only with a login). */
  login: Login | ((body: Body) => Login);
  /** Creates or destroys objects (serve forgets the keys it found on the token). */
  writes: boolean | ((body: Body) => boolean);
  /** A slow key generation (serve runs a few at a time). */
  generates?(body: Body): boolean;
  // Method signatures: operations of every body type fit one table.
  prepare(body: Body): PreparedOperation | Promise<PreparedOperation>;
}

export function defineOperation<Body>(operation: Operation<Body>): Operation {
  return operation as Operation;
}

/** The login these (valid) arguments need. */
export function loginOf(operation: Operation, body: unknown): Login {
  return typeof operation.login === "function" ? operation.login(body) : operation.login;
}

/** Whether these (valid) arguments create or destroy objects. */
export function writesOf(operation: Operation, body: unknown): boolean {
  return typeof operation.writes === "function" ? operation.writes(body) : operation.writes;
}

/**
 * One object schema of two (serve's query and body, or path parameter and query), for
 * batch's single `args` object: the properties and required names of both.
 */
export function mergedSchema(first: Schema, second: Schema): Schema {
  const required = [
    ...((first.required as string[] | undefined) ?? []),
    ...((second.required as string[] | undefined) ?? []),
  ];
  return {
    ...first,
    ...second,
    type: "object",
    additionalProperties: false,
    properties: {
      ...(first.properties as Schema | undefined),
      ...(second.properties as Schema | undefined),
    },
    ...(required.length > 0 ? { required } : {}),
  };
}

export function hexIdOf(id: string | undefined): Uint8Array | undefined {
  return id === undefined ? undefined : parseHexId(id);
}

export function usageOf(usage: string | string[] | undefined): Usage[] | undefined {
  return usage === undefined
    ? undefined
    : parseUsage(Array.isArray(usage) ? usage.join(",") : usage);
}
