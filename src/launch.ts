/**
 * Starts tsp11. The commands of the provisioning flow and daily use each have a bundle of their
 * own (dist/commands/<name>.cjs: that command and what it needs); every other start, help and
 * typos load the whole program (dist/tsp11.cjs). Next to each bundle the build leaves a V8
 * code cache made by the Node.js that built it, of what that bundle runs: given one, V8
 * neither parses nor compiles the bundle's code at start-up, which is most of what a command
 * costs over Node's own start (and V8 deserializes a whole cache, so each is kept to what its
 * start runs). Under another Node.js a bundle is loaded by Node's loader, through Node's own
 * on-disk compile cache where it has one (22.1 and later; NODE_DISABLE_COMPILE_CACHE=1 turns
 * it off), else compiled from source at every start (slower, same behaviour). With -v it is
 * always Node's loader, so stack traces map back to the sources.
 *
 * The caches are only ever made together with the bundles, in the build's staging directory
 * that replaces dist/ whole, so they never meet another bundle; V8 itself refuses a cache made
 * for other flags or another version. Kept apart from the bundles (dist/launch.cjs) and small:
 * it runs before anything else.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import type { CommandName } from "./commands/names.js";
import { COMMAND_NAMES, OWN_BUNDLE_COMMANDS } from "./commands/names.js";

/** What the build records of its caches: the runtime they are good for, and which exist. */
export interface CodeCacheInfo {
  node: string;
  v8: string;
  arch: string;
  /** Commands whose bundle has a cache (`commands/<command>.cjs.cache`). */
  cached?: string[];
}

/** How this start compiled the bundle (`tsp11 version` says it). */
export type StartMode = "code-cache" | "node-compile-cache" | "compiled" | "node-loader";

interface Bundle {
  main(argv: string[], start: StartMode): Promise<void>;
}

const dist = dirname(fileURLToPath(import.meta.url));
export const BUNDLE = join(dist, "tsp11.cjs");
export const CODE_CACHE = `${BUNDLE}.cache`;
export const CODE_CACHE_INFO = `${CODE_CACHE}.json`;
export { OWN_BUNDLE_COMMANDS };

/** The bundle of a command of OWN_BUNDLE_COMMANDS (its cache: the same name + `.cache`). */
export function commandBundle(command: string, directory = dist): string {
  return join(directory, "commands", `${command}.cjs`);
}

/**
 * The own bundle of the command these arguments name, if it has one. The first argument
 * that is a command's name names it (a global option's value that spells one is taken for it:
 * that bundle then hands the arguments to the whole program, src/one-command.ts).
 */
function ownBundleFor(argv: readonly string[]): string | undefined {
  // `tsp11 help <command>` is the whole program's.
  if (argv.find((arg) => !arg.startsWith("-")) === "help") return undefined;
  const command = argv.find((arg) => COMMAND_NAMES.includes(arg as CommandName));
  const own = OWN_BUNDLE_COMMANDS.find((name) => name === command);
  return own && commandBundle(own);
}

/** The runtime a code cache made now is good for. */
export function currentRuntime(): CodeCacheInfo {
  return { node: process.version, v8: process.versions.v8, arch: process.arch };
}

/** Whether the build's code caches were made for this runtime. */
function cachesFitThisRuntime(): boolean {
  try {
    const info = JSON.parse(readFileSync(CODE_CACHE_INFO, "utf8")) as CodeCacheInfo;
    const runtime = currentRuntime();
    return info.v8 === runtime.v8 && info.arch === runtime.arch;
  } catch {
    return false;
  }
}

function cacheOf(bundle: string): Buffer | undefined {
  try {
    return readFileSync(`${bundle}.cache`);
  } catch {
    return undefined;
  }
}

/**
 * The bundle to start for these arguments, with its code cache when there is one for this
 * runtime: the named command's own bundle when it has one, and its cache; else the whole
 * program's (its cache beats compiling the smaller bundle from source).
 */
function startFor(argv: readonly string[]): { bundle: string; cachedData?: Buffer } {
  const own = ownBundleFor(argv);
  if (!cachesFitThisRuntime()) return { bundle: own ?? BUNDLE };
  const ownCache = own && cacheOf(own);
  if (own && ownCache) return { bundle: own, cachedData: ownCache };
  const cachedData = cacheOf(BUNDLE);
  return cachedData ? { bundle: BUNDLE, cachedData } : { bundle: own ?? BUNDLE };
}

/**
 * A bundle's source in Node's CommonJS function wrapper (module.wrap's), spelled here: loading
 * node:module costs a start about 1 ms.
 */
export function wrapBundle(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
}

/**
 * Compiles the bundle as Node's CommonJS loader would, from the cache when V8 takes it. The
 * build compiles the copy it is about to move in place (`source`) under its final name. The
 * bundle gets this file's require(): it is in dist/ too, and requires only builtins and, for
 * serve, packages of the node_modules above.
 */
export function compileBundle(
  cachedData?: Buffer,
  source = BUNDLE,
  filename = source,
): { script: Script; exports: Bundle } {
  const script = new Script(wrapBundle(readFileSync(source, "utf8")), { filename, cachedData });
  const module = { exports: {} as Bundle };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, require, module, filename, dirname(filename));
  return { script, exports: module.exports };
}

/** Node's own compile cache (Node 22.1+), on for this process if it can be. */
function nodeCompileCache(): boolean {
  const { enableCompileCache, constants } = process.getBuiltinModule("node:module") as unknown as {
    enableCompileCache?: () => { status: number };
    constants?: { compileCacheStatus?: { ENABLED: number; ALREADY_ENABLED: number } };
  };
  const statuses = constants?.compileCacheStatus;
  if (!enableCompileCache || !statuses) return false;
  const { status } = enableCompileCache();
  return status === statuses.ENABLED || status === statuses.ALREADY_ENABLED;
}

function loadedByNode(bundle: string): Bundle {
  const { createRequire } = process.getBuiltinModule("node:module");
  return createRequire(import.meta.url)(bundle) as Bundle;
}

export async function launch(argv: string[]): Promise<void> {
  if (argv.includes("-v") || argv.includes("--verbose")) {
    await loadedByNode(ownBundleFor(argv) ?? BUNDLE).main(argv, "node-loader");
    return;
  }
  const { bundle, cachedData } = startFor(argv);
  if (cachedData) {
    const { script, exports } = compileBundle(cachedData, bundle);
    await exports.main(argv, script.cachedDataRejected ? "compiled" : "code-cache");
    return;
  }
  const cached = nodeCompileCache();
  await loadedByNode(bundle).main(argv, cached ? "node-compile-cache" : "compiled");
}
