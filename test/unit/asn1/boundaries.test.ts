import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync } from "node:fs";

// style.md section 0: src/asn1 is pure (no I/O, never pkcs11js or output), and curves.ts is
// loaded on fast paths, so it must not pull in the ASN.1 schema packages.
const dir = new URL("../../../src/asn1/", import.meta.url);
const sources = readdirSync(dir)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => ({ file: f, text: readFileSync(new URL(f, dir), "utf8") }));
const importsOf = (text: string): string[] =>
  [...text.matchAll(/^\s*(?:import|export)[^"']*from\s+["']([^"']+)["']/gm)].map((m) => m[1] ?? "");

describe("src/asn1 boundaries", () => {
  it("finds the layer's files", () => {
    expect(sources.map((s) => s.file)).toEqual(
      expect.arrayContaining(["dn.ts", "curves.ts", "csr.ts"]),
    );
  });

  it.each(sources)("$file imports only schemas, errors.ts and its siblings", ({ text }) => {
    for (const spec of importsOf(text)) {
      const allowed =
        spec.startsWith("@peculiar/") ||
        spec === "../errors.js" ||
        // Hashes and ciphers (key files, PKCS#12) are computation, not I/O.
        spec === "node:crypto" ||
        /^\.\/[\w-]+\.js$/.test(spec);
      expect(allowed, spec).toBe(true);
    }
  });

  it.each(["curves.ts", "bytes.ts"])(
    "%s imports nothing from @peculiar, even indirectly",
    (file) => {
      const seen = new Set<string>();
      const visit = (name: string): void => {
        if (seen.has(name)) return;
        seen.add(name);
        const source = sources.find((s) => s.file === name);
        expect(source, name).toBeDefined();
        for (const spec of importsOf(source?.text ?? "")) {
          expect(spec, `${name} imports ${spec}`).toMatch(/^\.\/[\w-]+\.js$/);
          visit(spec.slice(2).replace(/\.js$/, ".ts"));
        }
      };
      visit(file);
    },
  );
});
