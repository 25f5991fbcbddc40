#!/usr/bin/env node
// AES-256-CBC throughput of `tsp11 encrypt` (streamed through C_EncryptUpdate) against
// `openssl enc -aes-256-cbc` with the same key and IV, on one large random file; checks the
// two ciphertexts are equal, then prints the throughput ratio and each one's peak RSS.
//
//   npm run build && node bench/encrypt.mjs [--mib 1024] [--runs 3] [--data-dir /dev/shm]
//
// Targets: tsp11 ≥ 0.7× openssl's throughput, ≤ 64 MiB peak RSS. Files live in a temporary
// directory under --data-dir (default /dev/shm when present: the disk is not measured).
import console from "node:console";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { measure, tempStore, TSP11 } from "./lib.mjs";

const { values: opts } = parseArgs({
  options: {
    mib: { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
    "data-dir": { type: "string" },
  },
});
const MIB = Number(opts.mib);
const RUNS = Number(opts.runs);
const PIN = "1234";

const store = tempStore("bench", PIN);
const dataDir = mkdtempSync(
  join(opts["data-dir"] ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir()), "tsp11-enc-"),
);
try {
  const key = randomBytes(32);
  const iv = randomBytes(16);
  const keyFile = join(dataDir, "key.bin");
  const plain = join(dataDir, "plain.bin");
  const ivFile = join(dataDir, "iv.bin");
  const ours = join(dataDir, "tsp11.enc");
  const theirs = join(dataDir, "openssl.enc");
  writeSync(openSync(keyFile, "w"), key);
  writeSync(openSync(ivFile, "w"), iv);
  // The AES key on the token, its bytes known to openssl.
  execFileSync(
    "pkcs11-tool",
    [
      "--module",
      "/usr/lib/softhsm/libsofthsm2.so",
      "-l",
      "-p",
      PIN,
      "--write-object",
      keyFile,
      "--type",
      "secrkey",
      "--key-type",
      "AES:32",
      "--label",
      "aes",
      "--id",
      "01",
      "--usage-decrypt",
    ],
    { env: store.env, stdio: "ignore" },
  );
  const fd = openSync(plain, "w");
  const block = randomBytes(1 << 20);
  for (let i = 0; i < MIB; i++) writeSync(fd, block);
  closeSync(fd);

  const tsp11 = [
    "encrypt",
    "--pin",
    PIN,
    "-i",
    "aes",
    "-m",
    "AES-CBC-PAD",
    "--iv",
    iv.toString("hex"),
    "--no-iv-prefix",
    "--input",
    plain,
    "--output",
    ours,
  ];
  const openssl = [
    "enc",
    "-aes-256-cbc",
    "-K",
    key.toString("hex"),
    "-iv",
    iv.toString("hex"),
    "-in",
    plain,
    "-out",
    theirs,
  ];
  let bestOurs = { ms: Infinity, rssMb: 0 };
  let bestTheirs = { ms: Infinity, rssMb: 0 };
  for (let run = 0; run < RUNS; run++) {
    const a = measure(TSP11, tsp11, store.env);
    const b = measure("openssl", openssl, store.env);
    bestOurs = { ms: Math.min(bestOurs.ms, a.ms), rssMb: Math.max(bestOurs.rssMb, a.rssMb) };
    bestTheirs = { ms: Math.min(bestTheirs.ms, b.ms), rssMb: Math.max(bestTheirs.rssMb, b.rssMb) };
  }
  const same = execFileSync("cmp", ["-s", ours, theirs], { stdio: "ignore" }) !== undefined;
  const mbps = (ms) => (MIB / (ms / 1000)).toFixed(0);
  console.log(`AES-256-CBC over ${MIB} MiB (best of ${RUNS}; ciphertexts equal: ${same})`);
  console.log(
    `  tsp11 encrypt  ${bestOurs.ms.toFixed(0).padStart(7)} ms  ${mbps(bestOurs.ms).padStart(5)} MiB/s  peak RSS ${bestOurs.rssMb.toFixed(1)} MiB`,
  );
  console.log(
    `  openssl enc    ${bestTheirs.ms.toFixed(0).padStart(7)} ms  ${mbps(bestTheirs.ms).padStart(5)} MiB/s  peak RSS ${bestTheirs.rssMb.toFixed(1)} MiB`,
  );
  const ratio = bestTheirs.ms / bestOurs.ms;
  console.log(
    `  throughput ratio tsp11/openssl: ${ratio.toFixed(2)}x (target ≥ 0.70), RSS target ≤ 64 MiB: ${bestOurs.rssMb <= 64 ? "met" : "missed"}`,
  );
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(store.dir, { recursive: true, force: true });
}
