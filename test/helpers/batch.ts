/** Running `tsp11 batch` as a child whose stdin and stdout the test drives line by line. */
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import type { TempToken } from "./softhsm.js";
import { BIN } from "./softhsm.js";

export interface BatchLine {
  ok: boolean;
  result?: unknown;
  error?: { code: string; exit: number; message: string; kind: string; ckr?: string };
}

export const op = (name: string, args: Record<string, unknown> = {}): string =>
  `${JSON.stringify({ op: name, args })}\n`;

export function parseLines(stdout: string): BatchLine[] {
  return stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as BatchLine);
}

export interface LiveBatch {
  child: ChildProcessWithoutNullStreams;
  /** The next result line, as soon as the batch writes it. */
  next(): Promise<BatchLine>;
  exited: Promise<number>;
}

/** A batch whose results are read one line at a time while its stdin stays open. */
export function liveBatch(token: TempToken, args: string[]): LiveBatch {
  const child = spawn(process.execPath, [BIN, "batch", ...args], { env: token.env });
  child.stdin.on("error", () => undefined);
  const pending: BatchLine[] = [];
  const waiting: ((line: BatchLine) => void)[] = [];
  createInterface({ input: child.stdout }).on("line", (text) => {
    const line = JSON.parse(text) as BatchLine;
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else pending.push(line);
  });
  const exited = new Promise<number>((resolve) => {
    child.on("exit", (code, signal) => {
      resolve(code ?? (signal ? 128 : 1));
    });
  });
  return {
    child,
    exited,
    next: () => {
      const line = pending.shift();
      return line ? Promise.resolve(line) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}
