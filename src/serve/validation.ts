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

/** Requests: no coercion, nothing removed or defaulted; query strings and params coerce. */
export function validators(): { body: Ajv; other: Ajv; response: Ajv } {
  // strictRequired off: the anyOf/oneOf branches name fields the parent schema defines.
  const common = {
    allErrors: false,
    allowUnionTypes: true,
    strict: true,
    strictRequired: false,
  } as const;
  return {
    body: new Ajv({ ...common, coerceTypes: false, removeAdditional: false, verbose: true }),
    other: new Ajv({ ...common, coerceTypes: true, removeAdditional: false, verbose: true }),
    response: new Ajv({ ...common, coerceTypes: false }),
  };
}
