/**
 * Every JSON Schema serve and batch validate with is a valid one (draft-07, Ajv's strict
 * mode): checked here once, so the running validators need not compile the meta-schema.
 */
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { OPERATIONS } from "../../../src/batch/operations.js";
import { ROUTES } from "../../../src/serve/routes/index.js";
import { validator } from "../../../src/serve/validation.js";

const checker = new Ajv({ allowUnionTypes: true, strict: true, strictRequired: false });

function schemas(): [string, Record<string, unknown>][] {
  const found: [string, Record<string, unknown>][] = [];
  for (const route of ROUTES) {
    for (const part of ["body", "query", "params", "response"] as const) {
      const schema = route[part];
      if (schema) found.push([`${route.method} ${route.url} ${part}`, schema]);
    }
  }
  for (const [name, operation] of Object.entries(OPERATIONS)) {
    found.push([`batch ${name}`, operation.schema]);
  }
  return found;
}

describe("API schemas", () => {
  it("finds every route's and operation's schemas", () => {
    expect(schemas().length).toBeGreaterThan(ROUTES.length + Object.keys(OPERATIONS).length);
  });

  it.each(schemas())("%s is a valid JSON Schema that compiles strictly", (_where, schema) => {
    expect(checker.validateSchema(schema), checker.errorsText(checker.errors)).toBe(true);
    expect(() => validator("body").compile(schema)).not.toThrow();
  });

  it("would catch a malformed schema", () => {
    const broken = { type: "object", properties: { label: { type: "strnig" } } };
    expect(checker.validateSchema(broken)).toBe(false);
  });
});
