// Makes dist's V8 code caches, in <staging>, for the Node.js running this:
//  - tsp11.cjs.cache: the whole program compiled (src/launch.ts's own way, under the name it
//    will have in dist/) and `tsp11 --help` run, so the code every start runs is compiled too;
//  - commands/<command>.cjs.cache for each command's own bundle: made by a Node.js of its own
//    that runs that one command on a throw-away SoftHSM token, so it holds what the command
//    runs (its ASN.1 schemas and encoders, the PKCS#11 layer) and nothing it does not: V8
//    deserializes a whole cache at every start;
//  - tsp11.cjs.cache.json: the runtime they are good for and the commands whose bundle has one.
// Without SoftHSM (softhsm2-util) only the first is made.
//
//   node scripts/code-cache.mjs <staging>
//   node scripts/code-cache.mjs <staging> <command> <dir>    (one command's cache; internal)
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import v8 from "node:v8";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [staging, command, dir] = process.argv.slice(2);
const { commandBundle, compileBundle, currentRuntime, OWN_BUNDLE_COMMANDS } = await import(
  pathToFileURL(join(staging, "launch.cjs")).href
);
const dist = staging.replace(/\.\d+$/, "");

/**
 * Each command's run (OWN_BUNDLE_COMMANDS) on a token holding one P-256 key pair "k" (id 01);
 * `before`, what it needs first, runs in other processes (its code stays out of the cache).
 */
const KEY = ["keygen", "--key-type", "ec:prime256v1", "--label", "k", "--id", "01"];
const WARM_UPS = {
  "list-slots": { run: ["list-slots"] },
  "list-objects": { before: [KEY], run: ["list-objects"] },
  keygen: { run: KEY },
  req: { before: [KEY], run: ["req", "-i", "k", "-d", "/CN=warm-up", "-o", "{dir}/k.csr"] },
  "write-object": {
    before: [KEY, ["cert", "-k", "k", "-d", "/CN=warm-up", "-o", "{dir}/k.pem"]],
    run: ["write-object", "--type", "cert", "-f", "{dir}/k.pem", "--id", "01"],
  },
  "read-object": { before: [KEY], run: ["read-object", "--type", "pubkey", "--label", "k"] },
  sign: { before: [KEY], run: ["sign", "-i", "k", "-f", "{dir}/data", "-o", "{dir}/data.sig"] },
};

/**
 * A cache records the V8 flags it was made under, and V8 refuses it under others: commands
 * that set flags as they run (src/memory.ts) set none in a warm-up, so their cache is made
 * under the flags every start has.
 */
v8.setFlagsFromString = () => {};

/** The whole program's bundle, or a command's own. */
const bundleOf = (command, directory) =>
  command ? commandBundle(command, directory) : join(directory, "tsp11.cjs");

/**
 * Compiles the bundle of `command` (the whole program's if none), runs `argv` in this process
 * and writes the cache V8 then has.
 */
async function cacheAfter(argv, command) {
  const bundle = bundleOf(command, staging);
  const { script, exports } = compileBundle(undefined, bundle, bundleOf(command, dist));
  // A run ends its process once its command is done (src/run.ts): here the cache comes after.
  const exit = process.exit;
  process.exit = () => undefined;
  try {
    await exports.main(argv, "compiled");
  } finally {
    process.exit = exit;
  }
  if (process.exitCode) throw new Error(`tsp11 ${argv.join(" ")} failed`);
  writeFileSync(`${bundle}.cache`, script.createCachedData());
}

/** A private SoftHSM store with one token, for a warm-up: its environment. */
function throwAwayToken(home) {
  mkdirSync(join(home, "tokens"));
  writeFileSync(
    join(home, "softhsm2.conf"),
    `directories.tokendir = ${join(home, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  writeFileSync(join(home, "data"), "warm-up\n");
  // None of the builder's TSP11_* settings (the warm-up's token is the default module's), and
  // its lock files in the throw-away home, not the builder's $XDG_RUNTIME_DIR.
  const env = {
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) => !name.startsWith("TSP11_") && name !== "XDG_RUNTIME_DIR",
      ),
    ),
    SOFTHSM2_CONF: join(home, "softhsm2.conf"),
    TSP11_HOME: join(home, "home"),
    TSP11_PIN: "1234",
    NODE_DISABLE_COMPILE_CACHE: "1",
  };
  const init = spawnSync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", "warm-up", "--so-pin", "12345678", "--pin", "1234"],
    { env, stdio: "ignore" },
  );
  if (init.error || init.status !== 0) throw new Error("softhsm2-util could not make a token");
  return env;
}

/** Runs tsp11 from the staging build in a process of its own. */
function tsp11(argv, env) {
  const launch = pathToFileURL(join(staging, "launch.cjs")).href;
  const code = `const { launch } = await import(${JSON.stringify(launch)}); await launch(${JSON.stringify(argv)});`;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "ignore", "pipe"],
  });
  if (result.status !== 0) throw new Error(`tsp11 ${argv.join(" ")}: ${result.stderr.trim()}`);
}

const withDir = (argv) => argv.map((arg) => arg.replace("{dir}", dir));

if (command) {
  // One command's cache, in this fresh process.
  const env = throwAwayToken(dir);
  for (const step of WARM_UPS[command].before ?? []) tsp11(withDir(step), env);
  // This process runs the command as the warm-up's environment says, and nothing else.
  for (const name of Object.keys(process.env)) {
    if (!(name in env)) Reflect.deleteProperty(process.env, name);
  }
  Object.assign(process.env, env);
  await cacheAfter(withDir(WARM_UPS[command].run), command);
} else {
  await cacheAfter(["--help"]);
  const cached = [];
  const work = mkdtempSync(join(tmpdir(), "tsp11-code-cache-"));
  const softhsm = !spawnSync("softhsm2-util", ["--version"], { stdio: "ignore" }).error;
  if (!softhsm) console.warn("build: no softhsm2-util, so no code cache of their own for commands");
  try {
    for (const name of softhsm ? OWN_BUNDLE_COMMANDS : []) {
      const home = join(work, name);
      mkdirSync(home);
      const made = spawnSync(process.execPath, [process.argv[1], staging, name, home], {
        encoding: "utf8",
        stdio: ["ignore", "ignore", "pipe"],
      });
      if (made.status !== 0) {
        console.warn(`build: no code cache of its own for ${name} (${lastLine(made.stderr)})`);
      } else if (!takenAtStart(name)) {
        rmSync(`${bundleOf(name, staging)}.cache`);
        console.warn(`build: no code cache of its own for ${name} (V8 refuses it at start)`);
      } else cached.push(name);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const info = { ...currentRuntime(), cached };
  writeFileSync(join(staging, "tsp11.cjs.cache.json"), `${JSON.stringify(info)}\n`);
}

/** Whether a fresh Node.js, as a start has it, takes the cache of the command's bundle. */
function takenAtStart(command) {
  const bundle = bundleOf(command, staging);
  const check = `
    const { readFileSync } = require("node:fs");
    const { Script } = require("node:vm");
    const { wrapBundle } = require(${JSON.stringify(join(staging, "launch.cjs"))});
    const source = wrapBundle(readFileSync(${JSON.stringify(bundle)}, "utf8"));
    const cachedData = readFileSync(${JSON.stringify(`${bundle}.cache`)});
    const script = new Script(source, { filename: ${JSON.stringify(bundleOf(command, dist))}, cachedData });
    process.exit(script.cachedDataRejected ? 1 : 0);`;
  return spawnSync(process.execPath, ["-e", check], { stdio: "ignore" }).status === 0;
}

function lastLine(text) {
  const lines = text.trim().split("\n");
  return lines.find((line) => /Error/.test(line)) ?? lines.pop();
}
