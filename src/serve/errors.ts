/**
 * The CLI's error object over HTTP: `{"error":{"code","exit","message","kind","ckr"?}}` with a
 * status from the error's kind (400 usage, 401 auth, 404 not found, 409 conflict, 413 too
 * large, 500 the rest). Every answer that is an error has this shape, the framework's own
 * (unknown route, bad URL encoding, media type, malformed HTTP) included. Messages are the
 * CLI's; they never carry a PIN.
 */
import type { ErrorKind, ErrorObject } from "../errors.js";
import { errorObject, errorObjectOf, TspError } from "../errors.js";

export interface ErrorBody {
  error: ErrorObject;
}

export const STATUS_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  usage: 400,
  auth: 401,
  "not-found": 404,
  conflict: 409,
  verify: 500,
  module: 500,
  failure: 500,
};

/** An error the HTTP layer itself raises (bad JSON, body too large, no bearer token). */
export class HttpError extends TspError {
  readonly status: number;

  constructor(status: number, kind: ErrorKind, message: string, options: { cause?: unknown } = {}) {
    super(kind, message, options);
    this.status = status;
  }
}

/** Fastify's own errors carry a statusCode and an FST_ code. */
interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message: string;
  validation?: unknown;
}

function isFastifyError(error: unknown): error is FastifyLikeError {
  return (
    error instanceof Error &&
    typeof (error as FastifyLikeError).statusCode === "number" &&
    typeof (error as FastifyLikeError).code === "string"
  );
}

/** Fastify's status → our kind: request problems are usage (exit 2). */
function kindOfStatus(status: number): ErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not-found";
  if (status === 409) return "conflict";
  if (status >= 400 && status < 500) return "usage";
  return "failure";
}

/** Fastify's words for its request errors, said as the CLI says things. */
function frameworkMessage(error: FastifyLikeError, status: number): string {
  if (error.validation) return `invalid request: ${error.message}`;
  switch (error.code) {
    case "FST_ERR_BAD_URL":
      return "invalid request URL: a path segment is not valid percent-encoded UTF-8";
    case "FST_ERR_MAX_PARAM_LENGTH":
      return "invalid request URL: a path segment is too long";
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return `request body must be JSON (Content-Type: application/json): ${error.message}`;
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return "request body is empty: JSON expected (Content-Type: application/json)";
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return `request body is not valid JSON: ${error.message}`;
    default:
      return status === 413 ? "request body is larger than the server accepts" : error.message;
  }
}

export interface RenderedError {
  status: number;
  body: ErrorBody;
  /** Unexpected errors are logged with their stack; expected ones are the client's business. */
  unexpected: boolean;
}

export function renderError(error: unknown): RenderedError {
  if (error instanceof TspError) {
    const status = error instanceof HttpError ? error.status : STATUS_OF_KIND[error.kind];
    return {
      status,
      body: { error: errorObjectOf(error) },
      unexpected:
        !(error instanceof HttpError) &&
        status >= 500 &&
        error.kind === "failure" &&
        error.ckr === undefined,
    };
  }
  if (isFastifyError(error) && error.statusCode !== undefined && error.statusCode < 500) {
    const status = error.statusCode;
    const kind = kindOfStatus(status);
    return {
      status,
      body: { error: errorObject(kind, frameworkMessage(error, status)) },
      unexpected: false,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    status: 500,
    body: { error: errorObject("failure", `unexpected error: ${message}`) },
    unexpected: true,
  };
}

/**
 * A request Node's HTTP parser refused before any route saw it (headers too large, malformed
 * request line or headers, a request that took too long): the answer to write on the raw
 * socket, or undefined when nothing can be sent any more (the client is gone).
 */
export function renderClientError(
  error: NodeJS.ErrnoException & { reason?: string },
): { status: number; body: ErrorBody } | undefined {
  switch (error.code) {
    case "ECONNRESET":
    case "EPIPE":
      return undefined;
    case "HPE_HEADER_OVERFLOW":
      return {
        status: 431,
        body: { error: errorObject("usage", "request headers are larger than the server accepts") },
      };
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return {
        status: 413,
        body: { error: errorObject("usage", "request chunk extensions are too large") },
      };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return {
        status: 408,
        body: { error: errorObject("usage", "the request was not received in time") },
      };
    default: {
      // Node's parser says why ("Invalid method encountered"); never the request's bytes.
      const why = error.reason ?? error.code ?? "unreadable request";
      return {
        status: 400,
        body: { error: errorObject("usage", `malformed HTTP request: ${why}`) },
      };
    }
  }
}
