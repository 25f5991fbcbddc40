#!/usr/bin/env node
// Signing throughput of `tsp11 sign` against pkcs11-tool (one process per file), a tight
// in-process pkcs11js loop (the ceiling) and `openssl dgst` on a large file.
//
//   npm run build && node bench/sign.mjs [--files 1000] [--sample 100] [--big-mib 1024]
//                                        [--runs 3] [--data-dir DIR]
//
// Everything lives in temporary directories removed at the end (the big file is sparse).
// Wall-clock times include process start-up, as a user sees them; each figure is the best of
// --runs runs. CPU seconds (user + system, children's from /proc/self/stat) are printed next
// to them: on a shared machine they move much less than wall time.
//
// --data-dir: where the 1 KiB files and their .sig files go (default: the OS temp dir). On
// some virtual disks creating a file costs ~1 ms of kernel time, serialized, which caps any
// tool writing one new file per signature near 1,000 files/s; /dev/shm (tmpfs) measures the
// signing instead.
import { Buffer } from "node:buffer";
import { execFileSync, spawnSync } from "node:child_process";
import console from "node:console";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    files: { type: "string", default: "1000" },
    sample: { type: "string", default: "100" },
    "big-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
    "data-dir": { type: "string" },
  },
});
const FILES = Number(opts.files);
const SAMPLE = Math.min(Number(opts.sample), FILES);
const BIG_MIB = Number(opts["big-mib"]);
const RUNS = Number(opts.runs);

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin/tsp11");
const SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so";
const PIN = "1234";
const LABEL = "bench";
const TICK = 100; // USER_HZ of /proc/*/stat

const dir = mkdtempSync(join(tmpdir(), "tsp11-bench-"));
const dataDir = mkdtempSync(join(opts["data-dir"] ?? tmpdir(), "tsp11-bench-data-"));
mkdirSync(join(dir, "tokens"));
writeFileSync(
  join(dir, "softhsm2.conf"),
  `directories.tokendir = ${join(dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`,
);
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("TSP11_"))),
  SOFTHSM2_CONF: join(dir, "softhsm2.conf"),
  TSP11_HOME: join(dir, "home"),
};

/** CPU seconds of this process's waited-for children (cutime + cstime). */
function childrenCpu() {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return (Number(fields[13]) + Number(fields[14])) / TICK;
}

function run(file, args, options = {}) {
  const result = spawnSync(file, args, { env, cwd: dir, maxBuffer: 1 << 26, ...options });
  if (result.status !== 0) {
    throw new Error(
      `${file} ${args.slice(0, 6).join(" ")} ... failed (${result.status}): ${result.stderr}`,
    );
  }
  return result;
}

/** Best wall and CPU seconds of `RUNS` runs of fn (which spawns children). */
function best(fn) {
  let wall = Infinity;
  let cpu = Infinity;
  let last;
  for (let i = 0; i < RUNS; i++) {
    const cpu0 = childrenCpu();
    const started = process.hrtime.bigint();
    last = fn();
    wall = Math.min(wall, Number(process.hrtime.bigint() - started) / 1e9);
    cpu = Math.min(cpu, childrenCpu() - cpu0);
  }
  return { wall, cpu, last };
}

const tsp11 = (args) => run(process.execPath, [BIN, ...args]);

/** In-process ceiling: one session, C_SignInit + C_Sign per 1 KiB message. */
function ceiling() {
  const require = createRequire(join(ROOT, "package.json"));
  const pkcs11js = require("pkcs11js");
  process.env.SOFTHSM2_CONF = env.SOFTHSM2_CONF;
  const lib = new pkcs11js.PKCS11();
  lib.load(SOFTHSM);
  lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === LABEL);
  const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
  lib.C_Login(session, pkcs11js.CKU_USER, PIN);
  const find = (label) => {
    lib.C_FindObjectsInit(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_LABEL, value: label },
    ]);
    const [handle] = lib.C_FindObjects(session, 1);
    lib.C_FindObjectsFinal(session);
    return handle;
  };
  const message = randomBytes(1024);
  const loop = (label, one) => {
    const key = find(label);
    let wall = Infinity;
    let cpu = Infinity;
    for (let r = 0; r < RUNS; r++) {
      const cpu0 = process.cpuUsage();
      const started = process.hrtime.bigint();
      for (let i = 0; i < FILES; i++) one(key);
      wall = Math.min(wall, Number(process.hrtime.bigint() - started) / 1e9);
      const used = process.cpuUsage(cpu0);
      cpu = Math.min(cpu, (used.user + used.system) / 1e6);
    }
    return { wall, cpu };
  };
  const rsa = loop("rk", (key) => {
    lib.C_SignInit(session, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, key);
    lib.C_Sign(session, message, Buffer.alloc(256));
  });
  // SoftHSM has no CKM_ECDSA_SHA256: hash on the host, as tsp11 does.
  const ec = loop("ek", (key) => {
    const digest = createHash("sha256").update(message).digest();
    lib.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key);
    lib.C_Sign(session, digest, Buffer.alloc(64));
  });
  lib.C_Logout(session);
  lib.C_CloseSession(session);
  lib.C_Finalize();
  return { rsa, ec };
}

const x = (a, b) => `${(a / b).toFixed(2)}x`;

try {
  execFileSync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", LABEL, "--so-pin", "12345678", "--pin", PIN],
    { env, stdio: "ignore" },
  );
  tsp11(["keygen", "--key-type", "rsa:2048", "--label", "rk", "--id", "01", "--pin", PIN]);
  tsp11(["keygen", "--key-type", "ec:prime256v1", "--label", "ek", "--id", "02", "--pin", PIN]);

  const files = [];
  for (let i = 0; i < FILES; i++) {
    const name = join(dataDir, `f${String(i).padStart(5, "0")}.bin`);
    const bytes = randomBytes(1024);
    writeFileSync(name, bytes);
    // pkcs11-tool has no host hashing and SoftHSM no ECDSA-SHA256: it gets the digest (untimed).
    writeFileSync(`${name}.sha256`, createHash("sha256").update(bytes).digest());
    files.push(name);
  }

  // By --id: OpenSC 0.23 with --label gets C_Sign failing for EC keys made by tsp11.
  const pkcs11Tool = (id, mechanism, suffix) =>
    best(() => {
      for (const file of files.slice(0, SAMPLE)) {
        run(
          "pkcs11-tool",
          [
            ...["--module", SOFTHSM, "--token-label", LABEL, "--login", "--pin", PIN, "--sign"],
            ...["-m", mechanism, "--id", id, "-i", `${file}${suffix}`, "-o", `${file}.p11sig`],
          ],
          { stdio: ["ignore", "ignore", "pipe"] },
        );
      }
    });

  const ceil = ceiling();
  const rows = [];
  for (const [name, label, id, mechanism, suffix, inProcess] of [
    ["RSA-2048 SHA256-RSA-PKCS", "rk", "01", "SHA256-RSA-PKCS", "", ceil.rsa],
    ["P-256 ECDSA-SHA256", "ek", "02", "ECDSA", ".sha256", ceil.ec],
  ]) {
    const batch = best(() => tsp11(["sign", "-q", "-i", label, "--pin", PIN, ...files]));
    const one = best(() => tsp11(["sign", "-q", "-i", label, "--pin", PIN, files[0]]));
    const tool = pkcs11Tool(id, mechanism, suffix);
    const rate = (count, seconds) => count / seconds;
    rows.push({
      case: name,
      "tsp11 /s": rate(FILES, batch.wall).toFixed(0),
      "tsp11 /s excl. start-up": rate(FILES - 1, batch.wall - one.wall).toFixed(0),
      "pkcs11-tool /s": rate(SAMPLE, tool.wall).toFixed(1),
      "in-process /s": rate(FILES, inProcess.wall).toFixed(0),
      "vs pkcs11-tool": x(rate(FILES, batch.wall), rate(SAMPLE, tool.wall)),
      "vs in-process": x(rate(FILES, batch.wall), rate(FILES, inProcess.wall)),
      "CPU: vs pkcs11-tool": x(rate(FILES, batch.cpu), rate(SAMPLE, tool.cpu)),
      "CPU: vs in-process": x(rate(FILES, batch.cpu), rate(FILES, inProcess.cpu)),
      "start-up s": one.wall.toFixed(3),
    });
  }
  // The last batch (P-256) wrote FILE.sig: spot-check two with the token.
  tsp11(["verify", "-q", "-i", "ek", files[0], files[FILES - 1]]);

  // The big file: SHA256-RSA-PKCS (the token hashes) and ECDSA-SHA256 (the host hashes).
  const big = join(dir, "big.bin");
  writeFileSync(big, "");
  truncateSync(big, BIG_MIB * 1024 * 1024);
  run("cat", [big], { stdio: ["ignore", "ignore", "ignore"] });
  const openssl = best(() => run("openssl", ["dgst", "-sha256", big]));
  const bigSign = (label) => {
    let rss = 0;
    const timing = best(() => {
      const result = run("/usr/bin/time", [
        ...["-f", "%M", process.execPath, BIN, "sign", "-i", label, "--pin", PIN],
        ...["--input", big, "--output", join(dir, "big.sig")],
      ]);
      rss = Math.max(rss, Number(String(result.stderr).trim().split("\n").pop()) / 1024);
    });
    return { ...timing, rss };
  };
  const rsaBig = bigSign("rk");
  const ecBig = bigSign("ek");
  rmSync(big);
  const bigRow = (name, timing, rss) => ({
    case: name,
    seconds: timing.wall.toFixed(2),
    "MiB/s": (BIG_MIB / timing.wall).toFixed(0),
    "vs openssl": x(openssl.wall, timing.wall),
    "CPU s": timing.cpu.toFixed(2),
    "CPU: vs openssl": x(openssl.cpu, timing.cpu),
    "peak RSS MB": rss === undefined ? "" : rss.toFixed(1),
  });

  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  console.log(
    `\n${FILES} files of 1 KiB in ${dataDir}; pkcs11-tool on a ${SAMPLE}-file sample, one process per file; best of ${RUNS}`,
  );
  console.table(rows);
  console.log(`\n${BIG_MIB} MiB sparse file, best of ${RUNS}`);
  console.table([
    bigRow("openssl dgst -sha256", openssl),
    bigRow("tsp11 sign SHA256-RSA-PKCS (token hashes)", rsaBig, rsaBig.rss),
    bigRow("tsp11 sign ECDSA-SHA256 (host hashes)", ecBig, ecBig.rss),
  ]);
  console.log(`\nload average ${load} on ${navigatorCores()} cores`);
  console.log(
    "targets: RSA batch >= 0.75x in-process and >= 8x pkcs11-tool; P-256 >= 3000/s and >= 15x pkcs11-tool;",
  );
  console.log("         big file >= 0.8x openssl dgst, peak RSS <= 64 MB");
} finally {
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}

function navigatorCores() {
  return readFileSync("/proc/cpuinfo", "utf8").match(/^processor\s*:/gm)?.length ?? "?";
}
