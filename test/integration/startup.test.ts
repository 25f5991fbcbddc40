/**
 * Start-up (src/launch.ts): bin/tsp11 starts a command from its own bundle when it has one,
 * else from the whole program's, and compiles the bundle from the build's V8 code cache when
 * it was made for the running Node.js, and otherwise falls back to Node's loader (and its
 * compile cache where it has one) or a plain compile, with the same output and exit codes
 * every way. The fallbacks run on a copy of dist/ whose cache is missing, refused or made
 * for another V8.
 */
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { SourceMap, type SourceMapPayload } from "node:module";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWN_BUNDLE_COMMANDS as OWN_BUNDLES } from "../../src/commands/names.js";
import type { TempToken } from "../helpers/softhsm.js";
import { BIN, PIN, runCommand, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const ROOT = resolve(BIN, "../..");
const DIST = join(ROOT, "dist");

interface CacheInfo {
  v8: string;
  cached?: string[];
}

async function builtFor(): Promise<CacheInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(DIST, "tsp11.cjs.cache.json"), "utf8")) as CacheInfo;
  } catch {
    return undefined;
  }
}

describe.skipIf(!softhsmAvailable())("start-up", () => {
  let token: TempToken;
  let copy: string;
  beforeAll(async () => {
    token = await tempToken();
    await token.tsp11(["keygen", "--key-type", "ec:prime256v1", "--label", "k", "--pin", PIN]);
    copy = token.path("copy");
    await mkdir(join(copy, "bin"), { recursive: true });
    await cp(BIN, join(copy, "bin", "tsp11"));
    await cp(join(ROOT, "bin", "package.json"), join(copy, "bin", "package.json"));
  });
  afterAll(async () => {
    await token[Symbol.asyncDispose]();
  });

  /** bin/tsp11 of a copy of dist/ changed by `change`; pkcs11js from the project's node_modules. */
  async function copyOfDist(change: (dist: string) => Promise<void>): Promise<string> {
    const dist = join(copy, "dist");
    await rm(dist, { recursive: true, force: true });
    await cp(DIST, dist, { recursive: true });
    await change(dist);
    return join(copy, "bin", "tsp11");
  }

  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    ...token.env,
    NODE_PATH: join(ROOT, "node_modules"),
    NODE_DISABLE_COMPILE_CACHE: "1",
    ...extra,
  });

  async function startOf(bin: string, extra: NodeJS.ProcessEnv = {}): Promise<string> {
    const result = await runCommand(bin, ["version", "--json"], { env: env(extra) });
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { start: string }).start;
  }

  /** The same listing, PEM and exit codes as the installed bin/tsp11. */
  async function behavesAsBuilt(bin: string): Promise<void> {
    const listing = ["list-objects", "--json", "--pin", PIN];
    const expected = await runCommand(BIN, listing, { env: token.env });
    const got = await runCommand(bin, listing, { env: env() });
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe(expected.stdout);
    const pem = await runCommand(bin, ["read-object", "--type", "pubkey", "--label", "k"], {
      env: env(),
    });
    expect(pem.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const wrongPin = await runCommand(bin, ["list-objects", "--pin", "0000"], { env: env() });
    expect(wrongPin.code).toBe(4);
    expect(wrongPin.stderr).toMatch(/^tsp11: .*CKR_PIN_INCORRECT/);
  }

  it("starts from the build's code cache under the Node.js that built it", async () => {
    const info = await builtFor();
    const start = await startOf(BIN);
    if (info?.v8 === process.versions.v8) expect(start).toBe("code-cache");
    else expect(["node-compile-cache", "compiled"]).toContain(start);
  });

  it("compiles the bundle when the cache is missing, refused or made for another V8", async () => {
    const variants: [string, (dist: string) => Promise<void>][] = [
      ["missing", (dist) => rm(join(dist, "tsp11.cjs.cache.json"))],
      ["refused", (dist) => writeFile(join(dist, "tsp11.cjs.cache"), "not a code cache")],
      [
        "another V8",
        (dist) =>
          writeFile(
            join(dist, "tsp11.cjs.cache.json"),
            JSON.stringify({ node: "v0.0.0", v8: "0.0", arch: process.arch }),
          ),
      ],
    ];
    for (const [name, change] of variants) {
      const bin = await copyOfDist(change);
      expect(await startOf(bin), name).toBe("compiled");
      await behavesAsBuilt(bin);
    }
  });

  it("makes a cache for each command's own bundle", async () => {
    const info = await builtFor();
    expect([...(info?.cached ?? [])].sort()).toEqual([...OWN_BUNDLES].sort());
    // Each is taken by a start under the default flags (a warm-up that changed V8's flags
    // would leave a cache every start refuses).
    for (const command of info?.cached ?? []) {
      const check = `
        const { readFileSync } = require("node:fs");
        const { Script } = require("node:vm");
        const bundle = ${JSON.stringify(join(DIST, "commands", `${command}.cjs`))};
        const source = require("node:module").wrap(readFileSync(bundle, "utf8"));
        const cachedData = readFileSync(bundle + ".cache");
        const script = new Script(source, { filename: bundle, cachedData });
        process.stdout.write(script.cachedDataRejected ? "refused" : "taken");`;
      const result = await runCommand(process.execPath, ["-e", check]);
      expect(result.stdout, command).toBe(info?.v8 === process.versions.v8 ? "taken" : "refused");
    }
  });

  it("runs the provisioning flow's commands from their own bundles alone", async () => {
    // Without the whole program, each still runs; a command without a bundle does not.
    const bin = await copyOfDist((dist) => rm(join(dist, "tsp11.cjs")));
    await behavesAsBuilt(bin);
    const listing = await runCommand(bin, ["list-slots", "--json"], { env: env() });
    expect(listing.code, listing.stderr).toBe(0);
    const csr = token.path("alone.csr");
    const req = await runCommand(bin, ["req", "-i", "k", "-d", "/CN=alone", "-o", csr], {
      env: env({ TSP11_PIN: PIN }),
    });
    expect(req.code, req.stderr).toBe(0);
    expect(await readFile(csr, "utf8")).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    expect((await runCommand(bin, ["version"], { env: env() })).code).not.toBe(0);
  });

  it("hands the whole program arguments whose command is not the bundle's", async () => {
    // The launcher takes the first word that names a command: here a label's value, "keygen".
    const argv = ["--token-label", "keygen", "list-slots", "--json"];
    const expected = await runCommand(BIN, ["list-slots", "--json"], { env: token.env });
    const got = await runCommand(BIN, argv, { env: token.env });
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe(expected.stdout);
    // keygen's bundle cannot run list-slots alone: without the whole program this fails.
    const bin = await copyOfDist((dist) => rm(join(dist, "tsp11.cjs")));
    expect((await runCommand(bin, argv, { env: env() })).code).not.toBe(0);
    // `help <command>` starts the whole program, not the command's bundle.
    const broken = await copyOfDist(async (dist) => {
      for (const command of OWN_BUNDLES)
        await writeFile(join(dist, "commands", `${command}.cjs`), "throw new Error('read');");
    });
    const help = await runCommand(broken, ["help", "keygen"], { env: env() });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tsp11 keygen /);
  });

  it("behaves as built when each own bundle's cache is refused or missing", async () => {
    const garbled = await copyOfDist(async (dist) => {
      for (const command of OWN_BUNDLES)
        await writeFile(join(dist, "commands", `${command}.cjs.cache`), "not a code cache");
    });
    await behavesAsBuilt(garbled);
    // With no cache of its own, a command starts from the whole program (its cache beats
    // compiling the smaller bundle): a broken own bundle is not even read. (Under another
    // Node.js no cache fits, and the own bundles are what starts.)
    if ((await builtFor())?.v8 !== process.versions.v8) return;
    const missing = await copyOfDist(async (dist) => {
      for (const command of OWN_BUNDLES) {
        await rm(join(dist, "commands", `${command}.cjs.cache`));
        await writeFile(join(dist, "commands", `${command}.cjs`), "throw new Error('read');");
      }
    });
    await behavesAsBuilt(missing);
  });

  it("uses an intact copy's cache, and Node's loader with -v", async () => {
    const bin = await copyOfDist(() => Promise.resolve());
    const info = await builtFor();
    if (info?.v8 === process.versions.v8) expect(await startOf(bin)).toBe("code-cache");
    await behavesAsBuilt(bin);
    const verbose = await runCommand(bin, ["-v", "version", "--json"], { env: env() });
    expect(JSON.parse(verbose.stdout)).toMatchObject({ start: "node-loader" });
  });

  it("has no import() left in the bundles: a vm.Script has no loader to run one", async () => {
    const bundles = ["tsp11.cjs", ...OWN_BUNDLES.map((name) => join("commands", `${name}.cjs`))];
    for (const bundle of bundles) {
      const code = await readFile(join(DIST, bundle), "utf8");
      expect(code.match(/\bimport\(/g) ?? [], bundle).toEqual([]);
    }
  });

  it("bundles only the ASN.1 schema files a command uses, not all its package re-exports", async () => {
    // An EC keygen needs asn1-rsa's RSAPublicKey (for RSA keys' SPKI), not its OAEP and PSS
    // parameters, which serialize their defaults when they load.
    const map = JSON.parse(await readFile(join(DIST, "commands", "keygen.cjs.map"), "utf8")) as {
      sources: string[];
    };
    const rsa = map.sources.filter((source) => source.includes("@peculiar/asn1-rsa/"));
    expect(rsa.some((source) => source.endsWith("/rsa_public_key.js"))).toBe(true);
    expect(rsa.filter((source) => /\/parameters\//.test(source))).toEqual([]);
  });

  it("runs the provisioning flow's commands and listings without node:crypto or node:module", async () => {
    // Loading node:crypto costs a start about 7 ms, node:module (and the ES module loader it
    // brings) about 1 ms. A preload reports, as the process exits, which of them was loaded,
    // by require() or by process.getBuiltinModule(). Under a Node.js the caches were not made
    // for, Node's loader runs the bundle (and its compile cache is node:module's).
    const fromCache = (await builtFor())?.v8 === process.versions.v8;
    const preload = token.path("report-crypto.cjs");
    await writeFile(
      preload,
      `process.on("exit", () => {
  for (const name of ["crypto", "module"]) {
    if (process.moduleLoadList.includes("NativeModule " + name)) {
      require("node:fs").writeSync(2, "node:" + name + " loaded\\n");
    }
  }
});`,
    );
    const data = token.path("crypto-free.txt");
    await writeFile(data, "x\n");
    const runs = [
      ["keygen", "--key-type", "ec:prime256v1", "--label", "no-crypto"],
      ["write-object", "--type", "data", "-f", data, "--label", "no-crypto"],
      ["read-object", "--type", "pubkey", "--label", "k"],
      ["list-objects"],
      ["list-slots"],
      ["req", "-i", "k", "-d", "/CN=crypto", "-o", token.path("crypto.csr")],
    ];
    const loaded: string[] = [];
    for (const argv of runs) {
      const result = await runCommand(BIN, argv, {
        env: { ...token.env, TSP11_PIN: PIN, NODE_OPTIONS: `--require ${preload}` },
      });
      expect(result.code, result.stderr).toBe(0);
      for (const [, name] of result.stderr.matchAll(/(node:\w+) loaded/g)) {
        if (name === "node:module" && !fromCache) continue;
        loaded.push(`${argv[0] ?? ""}: ${name ?? ""}`);
      }
    }
    expect(loaded).toEqual([]);
  });

  it("runs keygen without the ASN.1 schemas unless the PEM is asked for (--json)", async () => {
    // Loading them costs keygen's start about 3 ms. Their classes are declared through
    // tslib's __decorate, which looks up Reflect.decorate: a preload reports that lookup.
    const preload = token.path("report-asn1.cjs");
    await writeFile(
      preload,
      `Object.defineProperty(Reflect, "decorate", { configurable: true, get() {
  process.emitWarning("ASN.1 schemas loaded");
  Object.defineProperty(Reflect, "decorate", { value: undefined, configurable: true });
  return undefined;
} });`,
    );
    const keygen = (label: string, ...extra: string[]) =>
      runCommand(BIN, ["keygen", "--key-type", "ec:prime256v1", "--label", label, ...extra], {
        env: { ...token.env, TSP11_PIN: PIN, NODE_OPTIONS: `--require ${preload}` },
      });
    const table = await keygen("asn1-free");
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^id +[0-9a-f]{40}$/m);
    expect(table.stderr).not.toContain("ASN.1 schemas loaded");
    const json = await keygen("asn1-json", "--json");
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toContain("ASN.1 schemas loaded");
    expect((JSON.parse(json.stdout) as { publicKeyPem: string }).publicKeyPem).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n/,
    );
  });

  it("declares asn1-rsa's PSS parameter schema only for a PSS signature", async () => {
    // The module serializes its SHA-1 defaults as it loads (130 KB of young heap: a second
    // scavenge for an EC key's req). Every schema class is declared through tslib's
    // __decorate, which looks up Reflect.decorate: a preload keeps the stack of each lookup,
    // and the bundle's source map names the schema file declaring.
    const stacks = token.path("decorate-stacks.txt");
    const preload = token.path("report-decorate.cjs");
    await writeFile(
      preload,
      `const { appendFileSync } = require("node:fs");
Error.stackTraceLimit = 4;
Object.defineProperty(Reflect, "decorate", { configurable: true, get() {
  appendFileSync(${JSON.stringify(stacks)}, new Error().stack + "\\n");
  return undefined;
} });`,
    );
    const map = new SourceMap(
      JSON.parse(await readFile(join(DIST, "commands", "req.cjs.map"), "utf8")) as SourceMapPayload,
    );
    const declaring = async (...argv: string[]): Promise<string[]> => {
      await rm(stacks, { force: true });
      const result = await runCommand(
        BIN,
        ["req", ...argv, "-d", "/CN=pss", "-o", token.path("pss.csr")],
        {
          env: { ...token.env, TSP11_PIN: PIN, NODE_OPTIONS: `--require ${preload}` },
        },
      );
      expect(result.code, result.stderr).toBe(0);
      const files = new Set<string>();
      for (const [, line, column] of (await readFile(stacks, "utf8")).matchAll(
        /commands\/req\.cjs:(\d+):(\d+)/g,
      )) {
        const entry = map.findEntry(Number(line) - 1, Number(column) - 1);
        if ("originalSource" in entry)
          files.add(entry.originalSource.replace(/.*node_modules\//, ""));
      }
      return [...files];
    };
    const pssSchema = (files: string[]) =>
      files.filter((file) => file.includes("asn1-rsa/build/es2015/parameters/"));
    const ec = await declaring("-i", "k");
    expect(ec.some((file) => file.includes("asn1-x509/"))).toBe(true);
    expect(pssSchema(ec)).toEqual([]);
    await token.tsp11(["keygen", "--key-type", "rsa:2048", "--label", "pss", "--pin", PIN]);
    expect(pssSchema(await declaring("-i", "pss", "--pss"))).toContain(
      "@peculiar/asn1-rsa/build/es2015/parameters/rsassa_pss.js",
    );
  });

  it("loads pkcs11js's addon alone, not its index.js, and without require()", async () => {
    // pkcs11js's index.js copies the addon's 656 constants into a new object (7.6 ms a start)
    // and wraps each instance's methods; require() of the addon's package path costs a start
    // its package lookups: src/pkcs11/lib.ts finds the file and opens it with process.dlopen.
    const preload = token.path("report-pkcs11js.cjs");
    await writeFile(
      preload,
      `const Module = require("node:module"); const load = Module._load;
Module._load = function (request, ...rest) {
  if (request.includes("pkcs11js")) process.emitWarning("requires " + request);
  return load.call(this, request, ...rest);
};
const dlopen = process.dlopen;
process.dlopen = function (module, file, ...rest) {
  process.emitWarning("dlopens " + file);
  return dlopen.call(this, module, file, ...rest);
};`,
    );
    const addon = join(process.cwd(), "node_modules/pkcs11js/build/Release/pkcs11.node");
    for (const argv of [["list-slots"], ["list-mechanisms", "--json"]]) {
      const result = await runCommand(BIN, argv, {
        env: { ...token.env, NODE_OPTIONS: `--require ${preload}` },
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr.match(/(requires|dlopens) \S+/g)).toEqual([`dlopens ${addon}`]);
    }
    // A copy with no node_modules beside it finds the addon as require() would (NODE_PATH).
    const bin = await copyOfDist(() => Promise.resolve());
    const result = await runCommand(bin, ["list-slots"], {
      env: env({ NODE_OPTIONS: `--require ${preload}` }),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.match(/(requires|dlopens) \S+/g)).toEqual([`dlopens ${addon}`]);
  });

  it("ends once the command is done, keeping its exit code; later when a stream is open", async () => {
    // Node's own end first runs what V8 queued for an idle moment (a scavenge after a
    // request). process.exit() goes through process.reallyExit, which Node's own end never
    // calls: a preload reports it.
    const preload = token.path("report-exit.cjs");
    await writeFile(
      preload,
      `const reallyExit = process.reallyExit;
process.reallyExit = function (code) {
  require("node:fs").writeSync(2, "ended at once " + code + "\\n");
  return reallyExit.call(this, code);
};`,
    );
    const env = { ...token.env, NODE_OPTIONS: `--require ${preload}` };
    const req = await runCommand(
      BIN,
      ["req", "-i", "k", "-d", "/CN=ends", "-o", token.path("ends.csr"), "--pin", PIN],
      { env },
    );
    expect(req.code, req.stderr).toBe(0);
    expect(req.stderr).toBe("ended at once 0\n");
    const wrongPin = await runCommand(BIN, ["list-objects", "--pin", "0000"], { env });
    expect(wrongPin.code).toBe(4);
    expect(wrongPin.stderr).toMatch(/CKR_PIN_INCORRECT\)\nended at once 4\n$/);
    // batch reads and writes through Node's streams: Node ends it, after the last line.
    const batch = await runCommand(BIN, ["batch", "--pin", PIN], {
      env,
      input: '{"op":"list-slots"}\n{"op":"list-slots"}\n',
    });
    expect(batch.code, batch.stderr).toBe(0);
    expect(batch.stdout.trim().split("\n")).toHaveLength(2);
    expect(batch.stderr).not.toContain("ended at once");
  });

  it("writes stdout to a pipe, a file or /dev/null without Node's stream, a terminal through it", async () => {
    // Making process.stdout loads net and stream (2.5 to 5 ms): a preload reports it.
    const preload = token.path("report-stdout.cjs");
    await writeFile(
      preload,
      `const made = Object.getOwnPropertyDescriptor(process, "stdout");
Object.defineProperty(process, "stdout", { configurable: true, enumerable: made.enumerable,
  get() { require("node:fs").writeSync(2, "stdout stream made\\n"); return made.get.call(this); } });`,
    );
    const env = { ...token.env, NODE_OPTIONS: `--require ${preload}` };
    const listed = token.path("listed.txt");
    for (const redirect of ["> /dev/null", `> ${listed}`, "| cat > /dev/null"]) {
      const result = await token.exec("sh", ["-c", `${BIN} list-slots ${redirect}`], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr, redirect).toBe("");
    }
    expect(await readFile(listed, "utf8")).toMatch(/\tready\t/);
    const terminal = await token.exec("script", ["-qec", `${BIN} list-slots`, "/dev/null"], {
      env,
    });
    expect(terminal.code, terminal.stderr).toBe(0);
    expect(terminal.stdout).toContain("stdout stream made");
  });

  it("reads a regular input file at once, without the I/O threads (a device through them)", async () => {
    // The I/O threads start on first use, which costs a start about 3 ms.
    const preload = token.path("report-read.cjs");
    await writeFile(
      preload,
      `const fs = require("node:fs"); const read = fs.read;
fs.read = Object.defineProperties(function (...args) {
  process.emitWarning("async read");
  return read.apply(this, args);
}, Object.getOwnPropertyDescriptors(read));`,
    );
    const data = token.path("read-at-once.txt");
    await writeFile(data, "x\n");
    const write = (input: string) =>
      runCommand(BIN, ["write-object", "--type", "data", "-f", input, "--label", input], {
        env: { ...token.env, TSP11_PIN: PIN, NODE_OPTIONS: `--require ${preload}` },
      });
    const file = await write(data);
    expect(file.code, file.stderr).toBe(0);
    expect(file.stderr).not.toContain("async read");
    // A device, and a /proc file, which says it is empty and may wait (/proc/kmsg).
    for (const other of ["/dev/null", "/proc/self/status"]) {
      expect((await write(other)).stderr, other).toContain("async read");
    }
  });

  it("keeps serve's web framework out of the bundle every command starts", async () => {
    const map = JSON.parse(await readFile(join(DIST, "tsp11.cjs.map"), "utf8")) as {
      sources: string[];
    };
    expect(map.sources.filter((source) => /node_modules\/fastify\//.test(source))).toEqual([]);
    expect(map.sources.some((source) => /src\/serve\/server\.ts$/.test(source))).toBe(true);
  });
});
