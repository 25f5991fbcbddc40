/**
 * The batch loop shared by `tsp11 batch` and serve's POST /v1/tokens/{label}/batch: NDJSON
 * lines in (read as they come, each bounded), one result line out per operation, in order,
 * each written before the next line is read, so memory stays flat however long the input.
 */
import type { ValidateFunction } from "ajv";
import type { FastifySchemaValidationError } from "fastify";
import type { ErrorObject } from "../errors.js";
import { errorObject, errorObjectOf, TspError } from "../errors.js";
import { formatValidation, validator } from "../serve/validation.js";
import type { Operation, PreparedOperation } from "./operations.js";
import { OPERATIONS } from "./operations.js";

/** The longest line read (the serve API's body limit); a longer one is an exit-2 result. */
export const MAX_LINE = 1024 * 1024;

/** A line's text, or the limit it went over. */
export type InputLine = { text: string } | { tooLong: number };

/**
 * Lines of a byte stream, at most `maxLine` bytes each (without the newline; a trailing CR
 * is dropped). A line that grows past the bound is reported as too long at once (an endless
 * line, `< /dev/zero`, gets its answer), and the rest of it is skipped to the next newline.
 * Chunks are pulled only as lines are consumed.
 */
export async function* ndjsonLines(
  source: AsyncIterable<Buffer | string>,
  maxLine: number = MAX_LINE,
): AsyncGenerator<InputLine> {
  let parts: Buffer[] = [];
  let size = 0;
  /** The current line was reported too long: its rest is skipped. */
  let skipping = false;
  const text = (): InputLine => {
    const done = Buffer.concat(parts, size).toString("utf8").replace(/\r$/, "");
    parts = [];
    size = 0;
    return { text: done };
  };
  /** Adds a piece of the current line: kept, the one that made it too long, or skipped. */
  const take = (piece: Buffer): "kept" | "too-long" | "skipped" => {
    if (skipping) return "skipped";
    if (size + piece.length > maxLine) {
      skipping = true;
      parts = [];
      size = 0;
      return "too-long";
    }
    parts.push(piece);
    size += piece.length;
    return "kept";
  };
  for await (const chunk of source) {
    let data = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    for (let newline = data.indexOf(10); newline !== -1; newline = data.indexOf(10)) {
      const taken = take(data.subarray(0, newline));
      if (taken === "too-long") yield { tooLong: maxLine };
      else if (taken === "kept") yield text();
      skipping = false;
      data = data.subarray(newline + 1);
    }
    if (data.length > 0 && take(Buffer.from(data)) === "too-long") yield { tooLong: maxLine };
  }
  if (size > 0) yield text();
}

export interface BatchTarget {
  /** Runs one operation, parsed and checked (`args`: its valid arguments), on the batch's token. */
  run(operation: Operation, prepared: PreparedOperation, args: unknown): Promise<unknown>;
}

export interface BatchOptions {
  continueOnError: boolean;
}

/** One operation line, checked: the op's table entry and its arguments. */
interface ParsedLine {
  operation: Operation;
  args: unknown;
}

const ajv = validator("body");
const compiled = new Map<Operation, ValidateFunction>();

function validatorOf(operation: Operation): ValidateFunction {
  let validate = compiled.get(operation);
  if (!validate) {
    validate = ajv.compile(operation.schema);
    compiled.set(operation, validate);
  }
  return validate;
}

/** Subcommands that take PINs as arguments: run them one-shot, where the PIN is asked for. */
const PIN_SUBCOMMANDS = ["change-pin", "init-token"];

function malformed(number: number, message: string): TspError {
  return new TspError("usage", `batch: line ${number}: ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `{"op": "<subcommand>", "args": {...}}`, args checked against the op's API schema. */
function parseLine(text: string, number: number): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw malformed(number, `not JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw malformed(number, 'not an object like {"op": "keygen", "args": {}}');
  const extra = Object.keys(value).find((key) => key !== "op" && key !== "args");
  if (extra !== undefined) throw malformed(number, `unknown field "${extra}" (op and args only)`);
  const { op, args = {} } = value;
  if (typeof op !== "string") throw malformed(number, 'needs "op", a subcommand name');
  const operation = Object.hasOwn(OPERATIONS, op) ? OPERATIONS[op] : undefined;
  const known = Object.keys(OPERATIONS).join(", ");
  if (!operation && PIN_SUBCOMMANDS.includes(op)) {
    throw malformed(
      number,
      `op "${op}" is not run in batch: PINs do not belong in an NDJSON stream (one of ${known})`,
    );
  }
  if (!operation) throw malformed(number, `unknown op "${op}" (one of ${known})`);
  if (!isObject(args)) throw malformed(number, "args must be an object");
  const validate = validatorOf(operation);
  if (!validate(args)) {
    const errors = (validate.errors ?? []) as FastifySchemaValidationError[];
    throw malformed(number, formatValidation(errors, "args").message);
  }
  return { operation, args };
}

function errorOf(error: unknown): ErrorObject {
  if (error instanceof TspError) return errorObjectOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return errorObject("failure", `unexpected error: ${message}`);
}

async function runLine(line: InputLine, number: number, target: BatchTarget): Promise<unknown> {
  if (!("text" in line)) throw malformed(number, `longer than ${line.tooLong} bytes`);
  const { operation, args } = parseLine(line.text, number);
  const prepared = await operation.prepare(args);
  return target.run(operation, prepared, args);
}

/**
 * Runs every line (blank ones are skipped) and writes its result line; stops after the first
 * failure unless `continueOnError`. Returns the exit code: the failure's, or the highest seen.
 */
export async function runBatch(
  lines: AsyncIterable<InputLine>,
  write: (line: string) => Promise<void>,
  target: BatchTarget,
  options: BatchOptions,
): Promise<number> {
  let exit = 0;
  let number = 0;
  for await (const line of lines) {
    number++;
    if ("text" in line && line.text.trim() === "") continue;
    try {
      const result = await runLine(line, number, target);
      await write(`${JSON.stringify({ ok: true, result })}\n`);
    } catch (error) {
      const object = errorOf(error);
      await write(`${JSON.stringify({ ok: false, error: object })}\n`);
      exit = Math.max(exit, object.exit);
      if (!options.continueOnError) return object.exit;
    }
  }
  return exit;
}
