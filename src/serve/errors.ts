/**
 * The CLI's error object over HTTP: `{"error":{"code","exit","message"}}` with a status
 * from the error's kind (400 usage, 401 auth, 404 not found, 409 conflict, 413 too large,
 * 500 the rest). Messages are the CLI's; they never carry a PIN.
 */
import type { ErrorKind } from "../errors.js";
import { EXIT_CODES, TspError } from "../errors.js";

export interface ErrorBody {
  error: { code: string; exit: number; message: string };
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
  validationContext?: string;
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

export interface RenderedError {
  status: number;
  body: ErrorBody;
  /** Unexpected errors are logged with their stack; expected ones are the client's business. */
  unexpected: boolean;
}

export function renderError(error: unknown): RenderedError {
  if (error instanceof TspError) {
    const status = error instanceof HttpError ? error.status : STATUS_OF_KIND[error.kind];
    const suffix = error.ckr ? ` (${error.ckr})` : "";
    return {
      status,
      body: {
        error: { code: error.code, exit: error.exitCode, message: `${error.message}${suffix}` },
      },
      unexpected: status >= 500 && error.kind === "failure" && error.ckr === undefined,
    };
  }
  if (isFastifyError(error) && error.statusCode !== undefined && error.statusCode < 500) {
    const status = error.statusCode;
    const kind = kindOfStatus(status);
    const message = error.validation
      ? `invalid request: ${error.message}`
      : status === 413
        ? "request body is larger than the server accepts"
        : error.message;
    return {
      status,
      body: { error: { code: kind, exit: EXIT_CODES[kind], message } },
      unexpected: false,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    status: 500,
    body: { error: { code: "failure", exit: 1, message: `unexpected error: ${message}` } },
    unexpected: true,
  };
}
