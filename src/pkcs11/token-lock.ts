/**
 * A per-token lock around check-then-create (keygen, write-object), across tsp11 processes
 * and across the requests of one `tsp11 serve`: without it, several processes asked for the
 * same label all see "no such key" and all create one. list-objects reads under it too:
 * SoftHSM's file store crashes or misreads objects another process is writing.
 *
 * Node has no flock()/fcntl() locks, so the lock is a file, named by a hash of the module's
 * path and the token's serial, under $XDG_RUNTIME_DIR/tsp11 (else $TSP11_HOME/locks):
 * - Taking it: the owner line `pid start-time nonce` is written to a temporary file, which
 *   is then link()ed to the lock's name. link() fails with EEXIST when the lock is held, and
 *   a lock file is never seen half-written (a process killed between open and write would
 *   otherwise leave an empty lock nobody can judge).
 * - Stale: the owner's pid is gone, or is now another process (its start time in
 *   /proc/<pid>/stat differs: pids are reused). kill -9 leaves such a lock behind.
 * - Taking a stale lock over: removing it must not race with a second process that removes
 *   it too and then removes the *new* lock the first one just took. So one process only
 *   reaps a given stale lock: the one that takes `<lock>.reap-<nonce of the stale owner>`
 *   (the same kind of lock, one level down). It re-reads the lock and unlinks it only if it
 *   still holds that nonce; nonces are never reused, so a newer lock is never removed. A
 *   reaper killed in between leaves a stale reap lock, reaped the same way (bounded depth).
 * - Waiting polls with growing pauses (timers, so Ctrl-C and SIGTERM are handled meanwhile)
 *   and gives up after WAIT_MS. Inside one process, requests queue on a promise chain first,
 *   so they do not poll against each other.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { onInterrupt } from "../cleanup.js";
import { TspError } from "../errors.js";
import { tsp11Home } from "./default-module.js";
import type { TokenScope } from "./token.js";
import { sleep } from "../pause.js";

/** How long a command waits for another one's lock (an RSA-8192 generation takes a while). */
const WAIT_MS = 120_000;
const FIRST_PAUSE_MS = 2;
const MAX_PAUSE_MS = 100;
/** Reap locks of reap locks at most this deep; each level needs another kill -9 mid-reap. */
const MAX_DEPTH = 3;
/** Where link() is not supported, a lock file that stays unreadable this long is stale. */
const GARBLED_STALE_MS = 10_000;

export interface TokenLockKey {
  modulePath: string;
  serial: string;
  label: string;
}

interface Owner {
  pid: number;
  start: string;
  nonce: string;
  line: string;
}

function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces); start time is field 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

/**
 * Hashes by @noble/hashes and a nonce from Math.random, not node:crypto: loading node:crypto
 * costs a start about 5 ms, and every command that writes or lists takes this lock. The nonce
 * only tells two holders with the same pid and start time apart; it guards nothing secret.
 */
function sha256Hex(text: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(text)));
}

function randomHex(length: number): string {
  let hex = "";
  while (hex.length < length)
    hex += Math.floor(Math.random() * 2 ** 32)
      .toString(16)
      .padStart(8, "0");
  return hex.slice(0, length);
}

function newOwner(): Owner {
  const pid = process.pid;
  const start = processStart(pid);
  const nonce = randomHex(24);
  return { pid, start, nonce, line: `${pid} ${start || "-"} ${nonce}\n` };
}

function parseOwner(line: string): Owner | undefined {
  const match = /^(\d+) (\S+) ([0-9a-f]+)\n$/.exec(line);
  if (!match) return undefined;
  return {
    pid: Number(match[1]),
    start: match[2] === "-" ? "" : (match[2] ?? ""),
    nonce: match[3] ?? "",
    line,
  };
}

function isAlive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const start = processStart(owner.pid);
  return owner.start === "" || start === "" || start === owner.start;
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return undefined;
    throw error;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to undo.
  }
}

/** Creates the lock file with the owner line in one step; false when it exists. */
function tryCreate(path: string, owner: Owner): boolean {
  const temp = `${path}.${owner.nonce}.tmp`;
  writeFileSync(temp, owner.line, { flag: "wx", mode: 0o600 });
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if (errnoOf(error) === "EEXIST") return false;
    if (errnoOf(error) !== "EPERM" && errnoOf(error) !== "ENOTSUP") throw error;
    // A file system without hard links: exclusive create, then write (see GARBLED_STALE_MS).
    try {
      writeFileSync(path, owner.line, { flag: "wx", mode: 0o600 });
      return true;
    } catch (inner) {
      if (errnoOf(inner) === "EEXIST") return false;
      throw inner;
    }
  } finally {
    unlinkQuietly(temp);
  }
}

/** The lock's holder when alive; "free" when there is none (or it was just reaped). */
function holderOf(path: string, depth: number): Owner | "free" | "garbled" {
  const text = readText(path);
  if (text === undefined) return "free";
  const owner = parseOwner(text);
  if (!owner) {
    try {
      if (Date.now() - statSync(path).mtimeMs < GARBLED_STALE_MS) return "garbled";
    } catch {
      return "free";
    }
    const nonce = sha256Hex(text).slice(0, 24);
    return reap(path, { pid: 0, start: "", nonce, line: text }, depth) ? "free" : "garbled";
  }
  if (isAlive(owner)) return owner;
  return reap(path, owner, depth) ? "free" : owner;
}

/** Removes a stale lock, unless another process is reaping it; true when it is gone. */
function reap(path: string, stale: Owner, depth: number): boolean {
  if (depth >= MAX_DEPTH) return false;
  const reapPath = `${path}.reap-${stale.nonce}`;
  const reaper = newOwner();
  if (!tryTake(reapPath, reaper, depth + 1)) return false;
  try {
    if (readText(path) === stale.line) unlinkQuietly(path);
  } finally {
    release(reapPath, reaper);
  }
  return readText(path) !== stale.line;
}

/** One attempt: take the lock, reaping a stale one on the way. */
function tryTake(path: string, owner: Owner, depth: number): boolean {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, owner)) return true;
    if (holderOf(path, depth) !== "free") return false;
  }
  return false;
}

function release(path: string, owner: Owner): void {
  try {
    if (readText(path) === owner.line) unlinkSync(path);
  } catch {
    // Never throws: a lock left behind is stale once this process is gone.
  }
}

function lockDirectory(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  const dir = runtime ? join(runtime, "tsp11") : join(tsp11Home(), "locks");
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new TspError("failure", `lock the token: cannot create ${dir}: ${why}`);
  }
  return dir;
}

/** The token a lock is for: its module and serial (label when it has no serial). */
export function lockKeyOf(scope: TokenScope): TokenLockKey {
  return { modulePath: scope.module.path, serial: scope.token.serial, label: scope.token.label };
}

/** Whether another live process holds the token's lock right now (a keygen may be mid-way). */
export function isTokenLockHeld(key: TokenLockKey): boolean {
  const holder = holderOf(lockPathOf(key), 0);
  return holder !== "free" && !(holder !== "garbled" && holder.pid === process.pid);
}

export function lockPathOf(key: TokenLockKey): string {
  // A token without a serial is told apart by its label.
  const name = sha256Hex(
    `${key.modulePath}\n${key.serial}\n${key.serial === "" ? key.label : ""}`,
  ).slice(0, 32);
  return join(lockDirectory(), `${name}.lock`);
}

/** This process's queue per lock file: one holder at a time, the rest wait in order. */
const queues = new Map<string, Promise<void>>();

async function localTurn(path: string): Promise<() => void> {
  const before = queues.get(path) ?? Promise.resolve();
  let leave = (): void => undefined;
  const mine = new Promise<void>((resolve) => {
    leave = resolve;
  });
  const tail = before.then(() => mine);
  queues.set(path, tail);
  await before;
  return () => {
    leave();
    if (queues.get(path) === tail) queues.delete(path);
  };
}

async function takeFileLock(path: string, what: string): Promise<Owner> {
  const owner = newOwner();
  const deadline = Date.now() + WAIT_MS;
  let pause = FIRST_PAUSE_MS;
  for (;;) {
    if (tryTake(path, owner, 0)) return owner;
    if (Date.now() >= deadline) {
      const holder = parseOwner(readText(path) ?? "");
      throw new TspError(
        "failure",
        `${what}: the token is busy: tsp11 process ${holder?.pid ?? "?"} has held its lock (${path}) for over ${WAIT_MS / 1000} s`,
      );
    }
    await sleep(pause);
    pause = Math.min(pause * 2, MAX_PAUSE_MS);
  }
}

/**
 * Runs `fn` holding the token's lock; released on every path, and on Ctrl-C by the
 * interrupt handler (a lock left by kill -9 is taken over once its holder is gone).
 */
export async function withTokenLock<T>(
  key: TokenLockKey,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  const path = lockPathOf(key);
  const leave = await localTurn(path);
  try {
    const owner = await takeFileLock(path, what);
    const forget = onInterrupt(() => {
      release(path, owner);
    });
    try {
      return await fn();
    } finally {
      forget();
      release(path, owner);
    }
  } finally {
    leave();
  }
}
