/**
 * Starts tsp11 from its one-file bundle (dist/tsp11.cjs). The build leaves next to it V8 code
 * caches made by the Node.js that built it: given one, V8 neither parses nor compiles the
 * bundle's code at start-up, which is most of what a command costs over Node's own start.
 * The commands of the provisioning flow have a cache each, holding what that command runs
 * (V8 deserializes a whole cache, so one for all would slow every start); the others start
 * from the cache of what every start runs. Under another Node.js the bundle is loaded by
 * Node's loader, through Node's own on-disk compile cache where it has one (22.1 and later;
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off), else compiled from source at every start
 * (slower, same behaviour). With -v it is always Node's loader, so stack traces map back to
 * the sources.
 *
 * The caches are only ever made together with the bundle, in the build's staging directory
 * that replaces dist/ whole, so they never meet another bundle; V8 itself refuses a cache made for
 * other flags or another version. Kept apart from the bundle (dist/launch.cjs) and small: it
 * runs before anything else.
 */
import { readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

/** What the build records of its caches: the runtime they are good for, and which exist. */
export interface CodeCacheInfo {
  node: string;
  v8: string;
  arch: string;
  /** Commands with a cache of their own (`tsp11.cjs.<command>.cache`). */
  cached?: string[];
  /** Every command's name: the first argument that is one names the command. */
  commands?: string[];
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

/** The runtime a code cache made now is good for. */
export function currentRuntime(): CodeCacheInfo {
  return { node: process.version, v8: process.versions.v8, arch: process.arch };
}

/** The cache the build made for this command, if it made one. */
function commandCache(command: string): string {
  return `${BUNDLE}.${command}.cache`;
}

/**
 * The build's code cache for these arguments when it was made for this runtime: the named
 * command's own, else the common one; undefined when there is none for this runtime. (A
 * global option's value that spells a command can pick another command's cache: slower,
 * never wrong, as any cache of this bundle serves any command.)
 */
function cacheForThisRuntime(argv: readonly string[]): Buffer | undefined {
  try {
    const info = JSON.parse(readFileSync(CODE_CACHE_INFO, "utf8")) as CodeCacheInfo;
    const runtime = currentRuntime();
    if (info.v8 !== runtime.v8 || info.arch !== runtime.arch) return undefined;
    const command = argv.find((arg) => info.commands?.includes(arg));
    if (command && info.cached?.includes(command)) {
      try {
        return readFileSync(commandCache(command));
      } catch {
        // A missing command cache: the common one.
      }
    }
    return readFileSync(CODE_CACHE);
  } catch {
    return undefined;
  }
}

/**
 * Compiles the bundle as Node's CommonJS loader would, from the cache when V8 takes it. The
 * build compiles the copy it is about to move in place (`source`) under its final name.
 */
export function compileBundle(
  cachedData?: Buffer,
  source = BUNDLE,
  filename = source,
): { script: Script; exports: Bundle } {
  const script = new Script(Module.wrap(readFileSync(source, "utf8")), { filename, cachedData });
  const module = { exports: {} as Bundle };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(
    module.exports,
    module.exports,
    createRequire(filename),
    module,
    filename,
    dirname(filename),
  );
  return { script, exports: module.exports };
}

/** Node's own compile cache (Node 22.1+), on for this process if it can be. */
function nodeCompileCache(): boolean {
  const { enableCompileCache, constants } = Module as unknown as {
    enableCompileCache?: () => { status: number };
    constants?: { compileCacheStatus?: { ENABLED: number; ALREADY_ENABLED: number } };
  };
  const statuses = constants?.compileCacheStatus;
  if (!enableCompileCache || !statuses) return false;
  const { status } = enableCompileCache();
  return status === statuses.ENABLED || status === statuses.ALREADY_ENABLED;
}

function loadedByNode(): Bundle {
  return createRequire(import.meta.url)(BUNDLE) as Bundle;
}

export async function launch(argv: string[]): Promise<void> {
  if (argv.includes("-v") || argv.includes("--verbose")) {
    await loadedByNode().main(argv, "node-loader");
    return;
  }
  const cachedData = cacheForThisRuntime(argv);
  if (cachedData) {
    const { script, exports } = compileBundle(cachedData);
    await exports.main(argv, script.cachedDataRejected ? "compiled" : "code-cache");
    return;
  }
  const cached = nodeCompileCache();
  await loadedByNode().main(argv, cached ? "node-compile-cache" : "compiled");
}
