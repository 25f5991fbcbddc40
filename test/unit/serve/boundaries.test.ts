import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// style.md section 0: serve runs the same core as the CLI and never imports its commands
// (nor the CLI's output layer, nor pkcs11js past src/pkcs11/lib.ts).
const dir = new URL("../../../src/serve/", import.meta.url);
const sources = readdirSync(dir, { recursive: true, encoding: "utf8" })
  .filter((file) => file.endsWith(".ts"))
  .map((file) => ({ file, text: readFileSync(new URL(file, dir), "utf8") }));
const importsOf = (text: string): string[] =>
  [...text.matchAll(/^\s*(?:import|export)[^"']*from\s+["']([^"']+)["']/gm)].map((m) => m[1] ?? "");

describe("src/serve boundaries", () => {
  it("finds the layer's files", () => {
    expect(sources.map((s) => s.file)).toEqual(
      expect.arrayContaining(["server.ts", "tokens.ts", "schemas.ts", "routes/sign.ts"]),
    );
  });

  it.each(sources)("$file imports neither commands, output nor pkcs11js", ({ text }) => {
    for (const spec of importsOf(text)) {
      expect(spec, spec).not.toMatch(/(^|\/)(commands|output)\//);
      expect(spec).not.toBe("pkcs11js");
    }
  });
});
