/**
 * The one error type of tsp11. Each kind has one exit code (the contract's table);
 * the entry point renders it once, as a line or as the JSON error object.
 */
export type ErrorKind =
  "failure" | "usage" | "not-found" | "auth" | "module" | "conflict" | "verify";

export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = {
  failure: 1,
  usage: 2,
  "not-found": 3,
  auth: 4,
  module: 5,
  conflict: 6,
  verify: 7,
};

export interface TspErrorOptions {
  /** CKR_ name when a PKCS#11 call failed. */
  ckr?: string;
  cause?: unknown;
}

export class TspError extends Error {
  readonly kind: ErrorKind;
  readonly ckr: string | undefined;

  constructor(kind: ErrorKind, message: string, options: TspErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "TspError";
    this.kind = kind;
    this.ckr = options.ckr;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }

  /** The contract's `code`: the CKR_ name when there is one, else the kind. */
  get code(): string {
    return this.ckr ?? this.kind;
  }
}

/**
 * The contract's error object (`{"error": <this>}` on stderr with --json, and serve's answers):
 * `code` is the CKR_ name when a PKCS#11 call failed, else the kind; `kind` always says what
 * the exit code means; `ckr` is there only when a PKCS#11 call failed.
 */
export interface ErrorObject {
  code: string;
  exit: number;
  message: string;
  kind: ErrorKind;
  ckr?: string;
}

/** The error object of a kind and message (the message gets ` (CKR_NAME)` when there is one). */
export function errorObject(kind: ErrorKind, message: string, ckr?: string): ErrorObject {
  return {
    code: ckr ?? kind,
    exit: EXIT_CODES[kind],
    message: ckr ? `${message} (${ckr})` : message,
    kind,
    ...(ckr ? { ckr } : {}),
  };
}

export function errorObjectOf(error: TspError): ErrorObject {
  return errorObject(error.kind, error.message, error.ckr);
}

export const usageError = (message: string): TspError => new TspError("usage", message);

/** Ctrl-C: the entry point exits 130 after every resource is released. */
export class InterruptedError extends Error {
  constructor() {
    super("interrupted");
    this.name = "InterruptedError";
  }
}
