/**
 * The per-token lock file: one holder at a time in a process, a live holder waited for, a
 * lock of a process that is gone (or of a pid now used by another process) taken over.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as tick } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockPathOf, withTokenLock } from "../../../src/pkcs11/token-lock.js";

const KEY = {
  modulePath: "/usr/lib/softhsm/libsofthsm2.so",
  serial: "0123456789abcdef",
  label: "t",
};

let runtime: string;
let saved: string | undefined;

beforeEach(() => {
  saved = process.env.XDG_RUNTIME_DIR;
  runtime = mkdtempSync(join(tmpdir(), "tsp11-lock-"));
  process.env.XDG_RUNTIME_DIR = runtime;
});

afterEach(() => {
  if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = saved;
  rmSync(runtime, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid;
}

describe("withTokenLock", () => {
  it("lets one caller of a process in at a time, in order, and leaves no file behind", async () => {
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        withTokenLock(KEY, "test", async () => {
          inside++;
          most = Math.max(most, inside);
          await tick();
          order.push(n);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(readdirSync(join(runtime, "tsp11"))).toEqual([]);
  });

  it("releases the lock when the work fails", async () => {
    await expect(
      withTokenLock(KEY, "test", () => Promise.reject(new Error("boom"))),
    ).rejects.toThrow("boom");
    expect(existsSync(lockPathOf(KEY))).toBe(false);
  });

  it("takes over a lock whose process is gone", async () => {
    writeFileSync(lockPathOf(KEY), `${deadPid()} - 0badc0ffee\n`);
    expect(await withTokenLock(KEY, "test", () => Promise.resolve("ran"))).toBe("ran");
    expect(readdirSync(join(runtime, "tsp11"))).toEqual([]);
  });

  it("takes over a lock whose pid now belongs to another process (start time differs)", async () => {
    writeFileSync(lockPathOf(KEY), `${process.pid} 1 0badc0ffee\n`);
    expect(await withTokenLock(KEY, "test", () => Promise.resolve("ran"))).toBe("ran");
  });

  it("waits while the holder lives, and goes in once it lets go", async () => {
    // The parent process (vitest's) is alive for the whole test; no start time: pid alone.
    writeFileSync(lockPathOf(KEY), `${process.ppid} - 0badc0ffee\n`);
    let ran = false;
    const waiting = withTokenLock(KEY, "test", () => {
      ran = true;
      return Promise.resolve();
    });
    for (let i = 0; i < 20; i++) await tick();
    expect(ran).toBe(false);
    rmSync(lockPathOf(KEY));
    await waiting;
    expect(ran).toBe(true);
  });
});
