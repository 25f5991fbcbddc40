/**
 * A command on a real terminal: script(1) gives the shell a pseudo-terminal as its controlling
 * terminal. Each answer is typed once its prompt has appeared (no timers), as a user would.
 */
import { spawn } from "node:child_process";
import { BIN } from "./softhsm.js";
import type { RunResult, TempToken } from "./softhsm.js";

export interface Answer {
  /** Text the terminal shows before this answer is typed. */
  after: string;
  /** What is typed (a carriage return follows). */
  send: string;
}

/** `tsp11 <args>` as a shell command line, each argument quoted. */
export function tsp11Line(args: string[]): string {
  const quoted = args.map((arg) => `'${arg.replace(/'/g, "'\\''")}'`).join(" ");
  return `'${process.execPath}' '${BIN}' ${quoted}`;
}

/** Runs `shell` on a terminal; stdout is what the terminal showed (CRs dropped). */
export function onTerminal(token: TempToken, shell: string, answers: Answer[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", shell, "/dev/null"], {
      env: { ...token.env, NO_COLOR: "1" },
      cwd: token.dir,
      stdio: "pipe",
    });
    let shown = "";
    let seen = 0;
    const pending = [...answers];
    child.stdout.on("data", (chunk: Buffer) => {
      shown += chunk.toString("utf8");
      const next = pending[0];
      if (!next) return;
      const at = shown.indexOf(next.after, seen);
      if (at < 0) return;
      seen = at + next.after.length;
      pending.shift();
      child.stdin.write(`${next.send}\r`);
    });
    child.stdin.on("error", () => undefined);
    child.on("error", reject);
    child.on("close", (code) => {
      child.stdin.end();
      const stdout = shown.replace(/\r/g, "");
      resolve({ code: code ?? 1, stdout, stderr: "", stdoutBytes: Buffer.from(stdout) });
    });
  });
}
