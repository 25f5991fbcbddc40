// Bundles src/ into dist/ with esbuild. Code splitting keeps lazily imported parts
// (the ASN.1 stack, per-command cores) in chunks of their own, so `tsp11 list-slots`
// loads only what it runs. pkcs11js is a native addon and stays external.
import { build } from "esbuild";
import { rmSync } from "node:fs";

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { main: "src/main.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["pkcs11js"],
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  // CommonJS dependencies bundled into ESM need a require() of their own.
  banner: {
    js: 'import { createRequire as __tsp11CreateRequire } from "node:module"; const require = __tsp11CreateRequire(import.meta.url);',
  },
  logLevel: "warning",
});
