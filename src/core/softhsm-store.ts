/**
 * Which SoftHSM2 token store a run uses. Tokens live in the directory its config names, so
 * another tool (pkcs11-tool, p11tool) sees tsp11's tokens only with the same SOFTHSM2_CONF:
 * `info` says which, and how.
 */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { tsp11Home } from "../pkcs11/default-module.js";

/** Where SoftHSM2 reads its config when SOFTHSM2_CONF is not set (Debian's build). */
const SYSTEM_CONF = "/etc/softhsm/softhsm2.conf";

export interface SoftHsmStore {
  /** The config file SoftHSM2 reads. */
  conf: string;
  /** Its directories.tokendir, when the file can be read and names one. */
  tokenDir: string | undefined;
  /** The config is tsp11's own (the embedded default under $TSP11_HOME). */
  embedded: boolean;
}

export function isSoftHsm(modulePath: string): boolean {
  return /^libsofthsm2\.so(\.|$)/.test(basename(modulePath));
}

/** The `directories.tokendir` line of a softhsm2.conf. */
export function tokenDirOf(confText: string): string | undefined {
  return /^\s*directories\.tokendir\s*=\s*(.+?)\s*$/m.exec(confText)?.[1];
}

export function softHsmStore(env: NodeJS.ProcessEnv = process.env): SoftHsmStore {
  const conf = env.SOFTHSM2_CONF || SYSTEM_CONF;
  let tokenDir: string | undefined;
  try {
    tokenDir = tokenDirOf(readFileSync(conf, "utf8"));
  } catch {
    tokenDir = undefined;
  }
  return { conf, tokenDir, embedded: conf === join(tsp11Home(env), "softhsm2.conf") };
}
