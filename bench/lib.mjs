// Shared helpers for the benchmark scripts: temporary SoftHSM stores, timing and peak RSS.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so";
export const TSP11 = resolve(import.meta.dirname, "../bin/tsp11");

/** A private SoftHSM store with one token; returns the env that points at it. */
export function tempStore(label = "bench", pin = "1234") {
  const dir = mkdtempSync(join(tmpdir(), "tsp11-bench-"));
  mkdirSync(join(dir, "tokens"));
  writeFileSync(
    join(dir, "softhsm2.conf"),
    `directories.tokendir = ${join(dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  const env = {
    ...process.env,
    SOFTHSM2_CONF: join(dir, "softhsm2.conf"),
    TSP11_HOME: join(dir, "home"),
  };
  execFileSync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", label, "--so-pin", "12345678", "--pin", pin],
    {
      env,
      stdio: "ignore",
    },
  );
  return { dir, env };
}

/**
 * Wall time of one run in ms, its CPU time (user + system) in ms and peak RSS in MiB (GNU time).
 * stdout is a pipe, or /dev/null with `stdout: "null"`.
 */
export function measure(command, args, env, stdout = "pipe") {
  const started = process.hrtime.bigint();
  const result = spawnSync("/usr/bin/time", ["-f", "%M %U %S", command, ...args], {
    env,
    encoding: "utf8",
    maxBuffer: 1 << 30,
    stdio: ["ignore", stdout === "null" ? "ignore" : "pipe", "pipe"],
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
  const [rssKb, user, system] = result.stderr.trim().split("\n").pop().split(" ").map(Number);
  return { ms, cpuMs: (user + system) * 1000, rssMb: rssKb / 1024, stdout: result.stdout };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs each candidate `rounds` times, interleaved so machine noise hits all alike. */
export function compare(candidates, rounds) {
  const times = new Map(candidates.map((c) => [c.name, []]));
  const cpu = new Map(candidates.map((c) => [c.name, []]));
  const rss = new Map(candidates.map((c) => [c.name, 0]));
  for (let round = 0; round < rounds; round++) {
    for (const candidate of candidates) {
      const run = measure(candidate.command, candidate.args, candidate.env, candidate.stdout);
      times.get(candidate.name).push(run.ms);
      cpu.get(candidate.name).push(run.cpuMs);
      rss.set(candidate.name, Math.max(rss.get(candidate.name), run.rssMb));
    }
  }
  return candidates.map((c) => ({
    name: c.name,
    medianMs: median(times.get(c.name)),
    medianCpuMs: median(cpu.get(c.name)),
    peakRssMb: rss.get(c.name),
  }));
}

export function printTable(rows, baseline) {
  const base = rows.find((row) => row.name === baseline);
  for (const row of rows) {
    const ratio = base ? (row.medianMs / base.medianMs).toFixed(2) : "-";
    console.log(
      `${row.name.padEnd(34)} ${row.medianMs.toFixed(1).padStart(9)} ms  ${ratio.padStart(6)}x ${baseline}  cpu ${row.medianCpuMs.toFixed(0).padStart(5)} ms  peak RSS ${row.peakRssMb.toFixed(1)} MB`,
    );
  }
}
