/**
 * The one Ajv setup of the API's schemas and the words of its errors: serve validates bodies
 * with it, and `tsp11 batch` validates each operation's args with the same schemas and words.
 */
import { Ajv } from "ajv";
import type { ErrorObject } from "ajv";
import type { FastifySchemaValidationError } from "fastify";

/** Ajv's words, with the offending field named and the base64 pattern said in words. */
function describeValidationError(error: FastifySchemaValidationError, dataVar: string): string {
  const where = `${dataVar}${error.instancePath.replaceAll("/", ".")}`;
  const params = error.params;
  switch (error.keyword) {
    case "additionalProperties":
      return `${where} has an unknown field "${String(params.additionalProperty)}"`;
    case "anyOf":
    case "oneOf": {
      const alternatives = ((error as ErrorObject).schema as { required?: string[] }[] | undefined)
        ?.map((branch) => branch.required?.[0])
        .filter((name) => name !== undefined)
        .map((name) => `"${name}"`);
      const names = alternatives?.join(" or ") ?? "one of its alternatives";
      return error.keyword === "oneOf"
        ? `${where} needs exactly one of ${names}`
        : `${where} needs ${names}`;
    }
    case "pattern":
      return `${where} is not valid base64`;
    default:
      return `${where} ${error.message ?? "is invalid"}`;
  }
}

/** Reports the alternative-level error when there is one, else the first. */
export function formatValidation(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const chosen =
    errors.find((error) => error.keyword === "anyOf" || error.keyword === "oneOf") ?? errors[0];
  return new Error(chosen ? describeValidationError(chosen, dataVar) : `${dataVar} is invalid`);
}

type ValidatorKind = "body" | "other" | "response";

/**
 * Request bodies: no coercion, nothing removed or defaulted; query strings and params coerce;
 * answers are checked as they are. The schemas are not checked against JSON Schema's
 * meta-schema here (a unit test checks every one): that check compiles the meta-schema at
 * every start, ~40 ms and ~4 MiB that a batch or a server would carry to its end.
 */
export function validator(kind: ValidatorKind): Ajv {
  // strictRequired off: the anyOf/oneOf branches name fields the parent schema defines.
  const common = {
    allErrors: false,
    allowUnionTypes: true,
    strict: true,
    strictRequired: false,
    validateSchema: false,
  } as const;
  if (kind === "response") return new Ajv({ ...common, coerceTypes: false });
  return new Ajv({
    ...common,
    coerceTypes: kind === "other",
    removeAdditional: false,
    verbose: true,
  });
}

export function validators(): Record<ValidatorKind, Ajv> {
  return { body: validator("body"), other: validator("other"), response: validator("response") };
}
