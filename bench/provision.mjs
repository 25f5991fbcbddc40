// Provisioning: N devices, each a P-256 key pair on the token, a CSR signed there, a
// certificate issued by an OpenSSL CA and written back next to its key. Side by side, one
// run each, on fresh SoftHSM stores of the same layout:
//   (a) pkcs11-tool --keypairgen, `openssl req -engine pkcs11`, pkcs11-tool --write-object
//   (b) tsp11, one process per step (keygen, req, write-object)
//   (c) tsp11 batch: keygen + req for every device in one run, the CA, then the
//       certificates in a second run (skipped when this tsp11 has no batch command)
// (a) and (b) alternate device by device (machine drift weighs on both alike); (c) runs after.
// Prints wall time, the ratio to (a) and the peak RSS of any one process (GNU time).
// Targets: (b) <= 2.5x (a); (c) <= 0.5x (a), peak RSS <= 100 MB at N = 1,000.
//
//   node bench/provision.mjs [devices=100] [ways=abc]
// (`node bench/provision.mjs 1000 c`: the batch way alone, for its peak RSS at N = 1,000.)
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SOFTHSM, tempStore, TSP11 } from "./lib.mjs";

const devices = Number(process.argv[2] ?? 100);
const only = process.argv[3] ?? "abc";
const PIN = "1234";

/** Runs one process under GNU time; returns its stdout and records its peak RSS. */
function run(stats, command, args, { env, input } = {}) {
  const result = spawnSync("/usr/bin/time", ["-f", "%M", command, ...args], {
    env,
    input,
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  const lines = result.stderr.trim().split("\n");
  stats.peakKb = Math.max(stats.peakKb, Number(lines.pop()));
  stats.processes++;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}): ${lines.join("\n")}`);
  }
  return result.stdout;
}

/** A throw-away CA (P-256) in dir; returns a function issuing a PEM certificate for a CSR file. */
function makeCa(stats, dir) {
  const key = join(dir, "ca.key");
  const cert = join(dir, "ca.pem");
  run(stats, "openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  run(stats, "openssl", [
    "req",
    "-x509",
    "-new",
    "-key",
    key,
    "-out",
    cert,
    "-subj",
    "/CN=bench CA",
    "-days",
    "30",
  ]);
  return (csr, out) =>
    run(stats, "openssl", [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      cert,
      "-CAkey",
      key,
      "-CAcreateserial",
      "-days",
      "30",
      "-out",
      out,
    ]);
}

const idOf = (i) => (i + 1).toString(16).padStart(4, "0");

function viaPkcs11Tool(stats, dir, env) {
  const issue = makeCa(stats, dir);
  const tool = ["--module", SOFTHSM, "--login", "--pin", PIN];
  const engineEnv = { ...env, PKCS11_MODULE_PATH: SOFTHSM };
  return (i) => {
    const id = idOf(i);
    const csr = join(dir, `d${i}.csr`);
    const pem = join(dir, `d${i}.pem`);
    const der = join(dir, `d${i}.der`);
    run(
      stats,
      "pkcs11-tool",
      [...tool, "--keypairgen", "--key-type", "EC:prime256v1", "--id", id, "--label", `dev-${i}`],
      { env },
    );
    const key = `pkcs11:token=bench;id=%${id.slice(0, 2)}%${id.slice(2)};type=private;pin-value=${PIN}`;
    run(
      stats,
      "openssl",
      [
        "req",
        "-new",
        "-engine",
        "pkcs11",
        "-keyform",
        "engine",
        "-key",
        key,
        "-subj",
        `/CN=device-${i}`,
        "-out",
        csr,
      ],
      { env: engineEnv },
    );
    issue(csr, pem);
    run(stats, "openssl", ["x509", "-in", pem, "-outform", "DER", "-out", der]);
    run(
      stats,
      "pkcs11-tool",
      [...tool, "--write-object", der, "--type", "cert", "--id", id, "--label", `dev-${i}`],
      { env },
    );
  };
}

function viaTsp11(stats, dir, env) {
  const issue = makeCa(stats, dir);
  const tsp11Env = { ...env, TSP11_MODULE: SOFTHSM, TSP11_PIN: PIN };
  return (i) => {
    const id = idOf(i);
    const csr = join(dir, `d${i}.csr`);
    const pem = join(dir, `d${i}.pem`);
    run(
      stats,
      TSP11,
      ["keygen", "--key-type", "ec:prime256v1", "--id", id, "--label", `dev-${i}`],
      { env: tsp11Env },
    );
    run(stats, TSP11, ["req", "-i", `dev-${i}`, "-d", `/CN=device-${i}`, "-o", csr], {
      env: tsp11Env,
    });
    issue(csr, pem);
    run(stats, TSP11, ["write-object", "--type", "cert", "-f", pem, "--id", id], { env: tsp11Env });
  };
}

function hasBatch(env) {
  const help = spawnSync(TSP11, ["help", "batch"], { env, encoding: "utf8" });
  return help.status === 0;
}

function viaBatch(stats, dir, env) {
  const issue = makeCa(stats, dir);
  const tsp11Env = { ...env, TSP11_MODULE: SOFTHSM, TSP11_PIN: PIN };
  const ops = [];
  for (let i = 0; i < devices; i++) {
    const id = idOf(i);
    ops.push({ op: "keygen", args: { keyType: "ec:prime256v1", label: `dev-${i}`, id } });
    ops.push({ op: "req", args: { key: `dev-${i}`, subject: `/CN=device-${i}` } });
  }
  const lines = (input) => input.map((op) => JSON.stringify(op)).join("\n") + "\n";
  const results = run(stats, TSP11, ["batch"], { env: tsp11Env, input: lines(ops) })
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  const writes = [];
  for (let i = 0; i < devices; i++) {
    const csr = join(dir, `d${i}.csr`);
    const pem = join(dir, `d${i}.pem`);
    writeFileSync(csr, results[2 * i + 1].result.pem);
    issue(csr, pem);
    writes.push({
      op: "write-object",
      args: { type: "cert", pem: readFileSync(pem, "utf8"), id: idOf(i) },
    });
  }
  run(stats, TSP11, ["batch"], { env: tsp11Env, input: lines(writes) });
}

/** Certificates on the token, counted by pkcs11-tool: every device got its own. */
function certificates(env) {
  const out = execFileSync("pkcs11-tool", ["--module", SOFTHSM, "-O", "--type", "cert"], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return out.split("\n").filter((line) => line.startsWith("Certificate Object")).length;
}

// (a) and (b) run device by device, alternately, each on a store of its own, so that the
// machine's drift weighs on both alike; (c) runs after, in its two batches.
const ways = [
  { name: "(a) pkcs11-tool + openssl engine", stepwise: viaPkcs11Tool },
  { name: "(b) tsp11, a process per step", stepwise: viaTsp11 },
  { name: "(c) tsp11 batch", provision: viaBatch, available: hasBatch },
]
  .filter((way) => only.includes(way.name[1]))
  .map((way) => ({ ...way, store: tempStore(), stats: { peakKb: 0, processes: 0 }, ms: 0 }));

/** Runs fn, adding its wall time to the way's. */
function timed(way, fn) {
  const started = process.hrtime.bigint();
  try {
    return fn();
  } finally {
    way.ms += Number(process.hrtime.bigint() - started) / 1e6;
  }
}

console.log(`provisioning ${devices} devices (P-256 key, CSR, CA-issued certificate written back)`);
try {
  const stepwise = ways.filter((way) => way.stepwise);
  // The set-up (the CA) counts in each way's time.
  const steps = stepwise.map((way) =>
    timed(way, () => way.stepwise(way.stats, way.store.dir, way.store.env)),
  );
  for (let i = 0; i < devices; i++) {
    stepwise.forEach((way, k) => timed(way, () => steps[k](i)));
  }
  const baseline = ways.find((way) => way.name.startsWith("(a)"))?.ms;
  for (const way of ways) {
    const { dir, env } = way.store;
    if (way.provision) {
      if (way.available && !way.available({ ...env, TSP11_MODULE: SOFTHSM })) {
        console.log(`${way.name.padEnd(36)} skipped: no batch command`);
        continue;
      }
      timed(way, () => way.provision(way.stats, dir, env));
    }
    const made = certificates(env);
    if (made !== devices)
      throw new Error(`${way.name}: ${made} certificates on the token, not ${devices}`);
    console.log(
      `${way.name.padEnd(36)} ${(way.ms / 1000).toFixed(2).padStart(8)} s  ${baseline ? `${(way.ms / baseline).toFixed(2).padStart(5)}x (a)` : "   -- (a)"}  ${way.stats.processes} processes  peak RSS ${(way.stats.peakKb / 1024).toFixed(1)} MB`,
    );
  }
} finally {
  for (const way of ways) execFileSync("rm", ["-rf", way.store.dir]);
}
