// Bundles src/ into dist/ with esbuild: dist/tsp11.cjs, the whole program in one file (what
// a command does not use is wrapped to initialize only when first imported, so a command
// runs little of it), dist/commands/<name>.cjs, a bundle of one command and what it needs
// for each command that starts often (src/commands/names.ts), dist/launch.cjs, which picks
// and starts one (src/launch.ts), and V8 code caches of the bundles for the Node.js that
// built them (scripts/code-cache.mjs). pkcs11js's addon is loaded by Node.js (src/pkcs11/lib.ts).
// The build is written aside and swapped in, so a tsp11 running meanwhile never sees a
// half-written dist/.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { existsSync, renameSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
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

/**
 * The @peculiar ASN.1 packages as ES modules whose unused files esbuild may leave out: each
 * package's index re-exports every schema it has, and the CommonJS builds bundle (and
 * evaluate, decorators and all, at every start of a command that parses DER) all of them.
 * Their files only define classes, so a file nothing imports is dead code. An index is read
 * as the names it exports, each from the file that defines it, and each importer gets an
 * index of its own: a module initialized on first use (all of the ASN.1 code is) initializes
 * everything its index re-exports, and one index shared by all would initialize, for an EC
 * key's req, asn1-rsa's PSS parameters (which serialize their defaults as they load) because
 * a PSS signature elsewhere in the bundle imports them. src/asn1/ is pure (no I/O, nothing
 * done at load that another file relies on), so an import of it whose names go unused is
 * left out too.
 */
const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const ASN1_SRC = join(SRC, "asn1/");
const asn1TreeShaking = {
  name: "asn1-tree-shaking",
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === asn1TreeShaking) return undefined;
      const peculiar =
        args.path.startsWith("@peculiar/") || args.importer.includes("/node_modules/@peculiar/");
      const ours = args.path.startsWith(".") && args.importer.startsWith(SRC);
      if (!peculiar && !ours) return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: asn1TreeShaking,
      });
      if (resolved.errors.length > 0) return undefined;
      if (!peculiar) {
        return resolved.path.startsWith(ASN1_SRC) ? { ...resolved, sideEffects: false } : undefined;
      }
      const index = /^@peculiar\/[^/]+$/.test(args.path);
      // An index of its own per importer: initializing it initializes the files of the names
      // that importer uses, not every file some importer of the package uses.
      return index
        ? { path: `${resolved.path}?${args.importer}`, namespace: "asn1-index", sideEffects: false }
        : { ...resolved, sideEffects: false };
    });
    const indexes = new Map();
    build.onLoad({ filter: /.*/, namespace: "asn1-index" }, async ({ path }) => {
      const index = path.slice(0, path.indexOf("?"));
      if (!indexes.has(index)) indexes.set(index, exportsOfIndex(index));
      const byFile = new Map();
      for (const [name, file] of await indexes.get(index)) {
        byFile.set(file, [...(byFile.get(file) ?? []), name]);
      }
      const lines = [...byFile].map(
        ([file, names]) => `export { ${names.join(", ")} } from ${JSON.stringify(file)};`,
      );
      return { contents: lines.join("\n"), resolveDir: dirname(index), loader: "js" };
    });
  },
};

/** Each name a package index exports (following its `export * from`), and its defining file. */
async function exportsOfIndex(index) {
  const stars = new Map();
  for (const queue = [index]; queue.length > 0;) {
    const file = queue.pop();
    if (stars.has(file)) continue;
    const targets = [
      ...(await readFile(file, "utf8")).matchAll(/^export \* from "([^"]+)";/gm),
    ].map(([, target]) => moduleFile(resolve(dirname(file), target)));
    stars.set(file, targets);
    queue.push(...targets);
  }
  // esbuild lists each file's own exports (those it names, not those it re-exports with *).
  const { metafile } = await build({
    entryPoints: [...stars.keys()],
    outdir: "/unused",
    write: false,
    metafile: true,
    format: "esm",
    logLevel: "silent",
  });
  const own = new Map(
    Object.values(metafile.outputs).map((output) => [resolve(output.entryPoint), output.exports]),
  );
  const names = new Map();
  const visit = (file) => {
    for (const name of own.get(file) ?? []) if (!names.has(name)) names.set(name, file);
    for (const target of stars.get(file)) visit(target);
  };
  visit(index);
  return names;
}

/** An ES module specifier's file: `./x` is x.js, or x/index.js for a directory. */
function moduleFile(path) {
  if (existsSync(`${path}.js`)) return `${path}.js`;
  if (existsSync(join(path, "index.js"))) return join(path, "index.js");
  return path;
}

const dist = fileURLToPath(new URL("../dist", import.meta.url));
const staging = `${dist}.${process.pid}`;
// A failed build leaves no staging directory behind.
process.on("exit", (code) => {
  if (code !== 0) rmSync(staging, { recursive: true, force: true });
});
const common = {
  outdir: staging,
  bundle: true,
  platform: "node",
  // Named, not found per file: esbuild looks for it only beside the files it resolves itself,
  // and the plugins below resolve some of ours (experimentalDecorators must hold for all).
  tsconfig: "tsconfig.json",
  target: "node20",
  // Minified: start-up reads less (tsp11 -v maps stack traces back to the sources).
  minify: process.env.TSP11_BUILD_READABLE !== "1",
  logLevel: "warning",
};
// CommonJS, as bin/tsp11 is: an ES module entry costs every start Node's ESM loader (~10 ms).
await build({
  ...common,
  entryPoints: { launch: "src/launch.ts" },
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  define: { "import.meta.url": "__launchUrl" },
  banner: { js: 'var __launchUrl = require("node:url").pathToFileURL(__filename).href;' },
});
const { OWN_BUNDLE_COMMANDS } = createRequire(import.meta.url)(join(staging, "launch.cjs"));

/** A command's own bundle's entry: src/one-command.ts with that command's definition. */
const oneCommandEntries = {
  name: "one-command-entries",
  setup(build) {
    build.onResolve({ filter: /^one-command:/ }, (args) => ({
      path: args.path.slice("one-command:".length),
      namespace: "one-command",
    }));
    build.onLoad({ filter: /.*/, namespace: "one-command" }, ({ path: name }) => {
      const definition = `${name.replace(/-(\w)/g, (_, letter) => letter.toUpperCase())}Command`;
      return {
        contents: `import { oneCommandMain } from "./src/one-command.ts";
import { ${definition} } from "./src/commands/${name}.ts";
export const main = oneCommandMain(${JSON.stringify(name)}, ${definition});`,
        resolveDir: fileURLToPath(new URL("..", import.meta.url)),
        loader: "ts",
      };
    });
  },
};

await build({
  ...common,
  entryPoints: {
    tsp11: "src/main.ts",
    ...Object.fromEntries(
      OWN_BUNDLE_COMMANDS.map((name) => [`commands/${name}`, `one-command:${name}`]),
    ),
  },
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  // import() of what stays outside (node: builtins, fastify) as require(): the bundle runs as
  // a vm.Script under the code cache, where a real import() has no loader to call.
  supported: { "dynamic-import": false },
  // fastify (with its forty dependencies, half the bundle) is loaded from node_modules by
  // `tsp11 serve` alone, which starts once: every other start neither reads nor caches it.
  external: ["fastify"],
  // ES module builds first (the @peculiar packages ship both): tree-shaken, and no
  // CommonJS wrappers to run.
  mainFields: ["module", "main"],
  sourcemap: true,
  // The sources are ES modules; the one they read import.meta in gets the bundle's URL.
  define: { "import.meta.url": "__tsp11BundleUrl" },
  banner: { js: 'var __tsp11BundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [deferChildProcess, asn1TreeShaking, oneCommandEntries],
});
// The cache is made by a Node.js of its own (a warm-up run, nothing of this build's state).
const cache = spawnSync(process.execPath, ["scripts/code-cache.mjs", staging], {
  encoding: "utf8",
  stdio: ["ignore", "ignore", "pipe"],
});
// Its warnings (a command left without a cache of its own) are passed on.
for (const line of cache.stderr.split("\n")) if (line.startsWith("build: ")) console.warn(line);
if (cache.status !== 0) {
  console.warn(
    `build: no code cache (${
      cache.stderr
        .trim()
        .split("\n")
        .find((line) => /Error/.test(line)) ?? cache.stderr.trim()
    }); tsp11 compiles at start`,
  );
}
const old = `${dist}.old.${process.pid}`;
try {
  renameSync(dist, old);
} catch {
  // no previous build
}
renameSync(staging, dist);
rmSync(old, { recursive: true, force: true });
