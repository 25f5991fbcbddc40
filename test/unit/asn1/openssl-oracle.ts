/**
 * openssl as a test oracle: run it on files in a private temp dir, capture everything.
 * Only tests import this; the ASN.1 layer itself never runs a process.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface OpensslResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export class OpensslDir {
  readonly dir = mkdtempSync(join(tmpdir(), "tsp11-asn1-"));

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, data: Uint8Array | string): string {
    writeFileSync(this.path(name), data);
    return this.path(name);
  }

  read(name: string): Uint8Array {
    return new Uint8Array(readFileSync(this.path(name)));
  }

  run(...args: string[]): OpensslResult {
    const r = spawnSync("openssl", args, { cwd: this.dir, encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs openssl and fails loudly unless it exits 0. */
  ok(...args: string[]): string {
    const r = this.run(...args);
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed:\n${r.stderr}`);
    return r.stdout;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
