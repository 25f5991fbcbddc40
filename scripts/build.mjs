// Bundles src/ into dist/ with esbuild. Code splitting keeps lazily imported parts
// (the ASN.1 stack, per-command cores) in chunks of their own, so `tsp11 list-slots`
// loads only what it runs. pkcs11js is a native addon and stays external.
// The bundle is written aside and swapped in, so a tsp11 running meanwhile never sees a
// half-written dist/.
import { build } from "esbuild";
import { renameSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * commander requires node:child_process when it loads, for executable subcommands, which
 * tsp11 has none of. A stand-in loads the builtin on the first spawn (never), sparing every
 * start the builtin's load (about 4 ms, with dgram and net's socket list).
 */
const deferChildProcess = {
  name: "defer-child-process",
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes("node_modules/commander/")
        ? { path: "child_process", namespace: "deferred" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "deferred" }, () => ({
      contents:
        'module.exports = { spawn: (...args) => require("node:child_process").spawn(...args) };',
      loader: "js",
    }));
  },
};

const dist = fileURLToPath(new URL("../dist", import.meta.url));
const staging = `${dist}.${process.pid}`;
await build({
  entryPoints: { main: "src/main.ts" },
  outdir: staging,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["pkcs11js"],
  sourcemap: true,
  // Minified: start-up compiles less (tsp11 -v maps stack traces back to the sources).
  minify: process.env.TSP11_BUILD_READABLE !== "1",
  chunkNames: "chunks/[name]-[hash]",
  // CommonJS dependencies bundled into ESM need a require() of their own.
  banner: {
    js: 'import { createRequire as __tsp11CreateRequire } from "node:module"; const require = __tsp11CreateRequire(import.meta.url);',
  },
  plugins: [deferChildProcess],
  logLevel: "warning",
});
const old = `${dist}.old.${process.pid}`;
try {
  renameSync(dist, old);
} catch {
  // no previous build
}
renameSync(staging, dist);
rmSync(old, { recursive: true, force: true });
