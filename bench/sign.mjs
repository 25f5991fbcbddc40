#!/usr/bin/env node
// Signing throughput of `tsp11 sign` against pkcs11-tool (one process per file), a tight
// in-process pkcs11js loop (the ceiling) and `openssl dgst` on a 1 GiB file.
//
//   npm run build && node bench/sign.mjs [--files 1000] [--sample 100] [--big-mib 1024] [--runs 3]
//
// Everything lives in a temporary SoftHSM store that is removed at the end (the 1 GiB file
// is sparse). Wall-clock times include process start-up, as a user sees them; figures are
// the best of --runs runs.
import { Buffer } from "node:buffer";
import { execFileSync, spawnSync } from "node:child_process";
import console from "node:console";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    files: { type: "string", default: "1000" },
    sample: { type: "string", default: "100" },
    "big-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
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

const dir = mkdtempSync(join(tmpdir(), "tsp11-bench-"));
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

function run(file, args, options = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(file, args, { env, cwd: dir, maxBuffer: 1 << 26, ...options });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) {
    throw new Error(
      `${file} ${args.slice(0, 6).join(" ")} ... failed (${result.status}): ${result.stderr}`,
    );
  }
  return { seconds, stdout: result.stdout, stderr: result.stderr };
}

function best(fn) {
  let min = Infinity;
  let last;
  for (let i = 0; i < RUNS; i++) {
    last = fn();
    min = Math.min(min, last.seconds);
  }
  return { ...last, seconds: min };
}

const tsp11 = (args) => run(process.execPath, [BIN, ...args]);

try {
  execFileSync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", LABEL, "--so-pin", "12345678", "--pin", PIN],
    { env, stdio: "ignore" },
  );
  tsp11(["keygen", "--key-type", "rsa:2048", "--label", "rk", "--id", "01", "--pin", PIN]);
  tsp11(["keygen", "--key-type", "ec:prime256v1", "--label", "ek", "--id", "02", "--pin", PIN]);

  mkdirSync(join(dir, "data"));
  const files = [];
  for (let i = 0; i < FILES; i++) {
    const name = `data/f${String(i).padStart(5, "0")}.bin`;
    const bytes = randomBytes(1024);
    writeFileSync(join(dir, name), bytes);
    // pkcs11-tool has no host hashing and SoftHSM no ECDSA-SHA256: it gets the digest (untimed).
    writeFileSync(join(dir, `${name}.sha256`), createHash("sha256").update(bytes).digest());
    files.push(name);
  }

  // In-process ceiling: one session, C_SignInit + C_Sign per 1 KiB message (EC: host SHA-256 + CKM_ECDSA).
  const require = createRequire(join(ROOT, "package.json"));
  const pkcs11js = require("pkcs11js");
  function ceiling() {
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
      let min = Infinity;
      for (let r = 0; r < RUNS; r++) {
        const started = process.hrtime.bigint();
        for (let i = 0; i < FILES; i++) one(key);
        min = Math.min(min, Number(process.hrtime.bigint() - started) / 1e9);
      }
      return min;
    };
    const rsa = loop("rk", (key) => {
      lib.C_SignInit(session, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, key);
      lib.C_Sign(session, message, Buffer.alloc(256));
    });
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

  // By --id: OpenSC 0.23 with --label picks up a state in which C_Sign fails for EC keys.
  const pkcs11Tool = (id, mechanism, suffix) =>
    best(() => {
      const started = process.hrtime.bigint();
      for (const file of files.slice(0, SAMPLE)) {
        run(
          "pkcs11-tool",
          [
            "--module",
            SOFTHSM,
            "--token-label",
            LABEL,
            "--login",
            "--pin",
            PIN,
            "--sign",
            "-m",
            mechanism,
            "--id",
            id,
            "-i",
            `${file}${suffix}`,
            "-o",
            `${file}.p11sig`,
          ],
          { stdio: ["ignore", "ignore", "pipe"] },
        );
      }
      return { seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    });

  const batch = (label) => best(() => tsp11(["sign", "-i", label, "--pin", PIN, ...files]));
  const startup = (label) => best(() => tsp11(["sign", "-i", label, "--pin", PIN, files[0]]));

  const rows = [];
  const ceil = ceiling();
  for (const [name, label, id, mechanism, suffix, ceilSeconds] of [
    ["RSA-2048 SHA256-RSA-PKCS", "rk", "01", "SHA256-RSA-PKCS", "", ceil.rsa],
    ["P-256 ECDSA-SHA256", "ek", "02", "ECDSA", ".sha256", ceil.ec],
  ]) {
    const ours = batch(label).seconds;
    const one = startup(label).seconds;
    const tool = pkcs11Tool(id, mechanism, suffix).seconds;
    const oursRate = FILES / ours;
    const steadyRate = (FILES - 1) / Math.max(ours - one, 1e-9);
    const toolRate = SAMPLE / tool;
    const ceilRate = FILES / ceilSeconds;
    rows.push({
      case: name,
      "tsp11 batch /s": oursRate.toFixed(0),
      "tsp11 excl. start-up /s": steadyRate.toFixed(0),
      "pkcs11-tool /s": toolRate.toFixed(1),
      "in-process /s": ceilRate.toFixed(0),
      "vs pkcs11-tool": `${(oursRate / toolRate).toFixed(1)}x`,
      "vs in-process": `${(oursRate / ceilRate).toFixed(2)}x`,
      "start-up s": one.toFixed(3),
    });
  }
  // Every batch signature verifies (a quick spot check with the token).
  tsp11(["verify", "-i", "ek", files[0], files[FILES - 1]]); // the last batch (P-256) wrote FILE.sig

  // 1 GiB: SHA256-RSA-PKCS streamed through the token vs openssl dgst -sha256.
  const big = join(dir, "big.bin");
  writeFileSync(big, "");
  truncateSync(big, BIG_MIB * 1024 * 1024);
  run("cat", [big], { stdio: ["ignore", "ignore", "ignore"] }); // page cache warm for both
  const openssl = best(() => run("openssl", ["dgst", "-sha256", big]));
  const signBig = best(() =>
    run("/usr/bin/time", [
      "-f",
      "%M",
      process.execPath,
      BIN,
      "sign",
      "-i",
      "rk",
      "--pin",
      PIN,
      "--input",
      big,
      "--output",
      join(dir, "big.sig"),
    ]),
  );
  const rssMb = Number(String(signBig.stderr).trim().split("\n").pop()) / 1024;
  const ecBig = best(() =>
    run("/usr/bin/time", [
      "-f",
      "%M",
      process.execPath,
      BIN,
      "sign",
      "-i",
      "ek",
      "--pin",
      PIN,
      "--input",
      big,
      "--output",
      join(dir, "big.ecsig"),
    ]),
  );
  const ecRssMb = Number(String(ecBig.stderr).trim().split("\n").pop()) / 1024;
  rmSync(big);
  const mib = BIG_MIB;
  const bigRows = [
    {
      case: `openssl dgst -sha256 (${mib} MiB)`,
      seconds: openssl.seconds.toFixed(2),
      "MiB/s": (mib / openssl.seconds).toFixed(0),
      "vs openssl": "1.00x",
      "peak RSS MB": "",
    },
    {
      case: "tsp11 sign SHA256-RSA-PKCS (token hashes)",
      seconds: signBig.seconds.toFixed(2),
      "MiB/s": (mib / signBig.seconds).toFixed(0),
      "vs openssl": `${(openssl.seconds / signBig.seconds).toFixed(2)}x`,
      "peak RSS MB": rssMb.toFixed(1),
    },
    {
      case: "tsp11 sign ECDSA-SHA256 (host hashes)",
      seconds: ecBig.seconds.toFixed(2),
      "MiB/s": (mib / ecBig.seconds).toFixed(0),
      "vs openssl": `${(openssl.seconds / ecBig.seconds).toFixed(2)}x`,
      "peak RSS MB": ecRssMb.toFixed(1),
    },
  ];

  console.log(
    `\n${FILES} files of 1 KiB (pkcs11-tool: ${SAMPLE}-file sample, one process per file; best of ${RUNS})`,
  );
  console.table(rows);
  console.log(`\n${mib} MiB sparse file (best of ${RUNS})`);
  console.table(bigRows);
  console.log(
    "\ntargets: RSA batch >= 0.75x in-process and >= 8x pkcs11-tool; P-256 batch >= 3000/s and >= 15x pkcs11-tool;",
  );
  console.log("         1 GiB >= 0.8x openssl dgst, peak RSS <= 64 MB");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
