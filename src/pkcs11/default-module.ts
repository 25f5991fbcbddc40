import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TspError } from "../errors.js";
import { resolveModuleName } from "./module-names.js";

/** Where distributions install SoftHSM2 and p11-kit's client module. */
const SOFTHSM_PATHS = [
  "/usr/lib/softhsm/libsofthsm2.so",
  "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/lib64/pkcs11/libsofthsm2.so",
  "/usr/lib/pkcs11/libsofthsm2.so",
  "/usr/local/lib/softhsm/libsofthsm2.so",
  "/opt/homebrew/lib/softhsm/libsofthsm2.so",
];

const P11_KIT_CLIENT_PATHS = [
  "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so",
  "/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so",
  "/usr/lib64/pkcs11/p11-kit-client.so",
  "/usr/lib/pkcs11/p11-kit-client.so",
];

export interface ResolvedModule {
  path: string;
  /** How the path was chosen, for messages: "--module", "p11-kit-client", "embedded". */
  source: "option" | "p11-kit-client" | "embedded";
}

/** tsp11's own data directory: $TSP11_HOME, else $XDG_DATA_HOME/tsp11, else ~/.local/share/tsp11. */
export function tsp11Home(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSP11_HOME) return env.TSP11_HOME;
  // node:os loaded only here: at the top it costs every start 0.4 ms.
  const dataHome =
    env.XDG_DATA_HOME || join(process.getBuiltinModule("node:os").homedir(), ".local", "share");
  return join(dataHome, "tsp11");
}

/**
 * The contract's module default: --module / TSP11_MODULE, else p11-kit-client.so when
 * P11_KIT_SERVER_ADDRESS is set, else the embedded SoftHSM2 with a token store of its own.
 */
export function resolveModule(explicit: string | undefined): ResolvedModule {
  if (explicit) return { path: resolveModuleName(explicit), source: "option" };
  if (process.env.P11_KIT_SERVER_ADDRESS) {
    const path = P11_KIT_CLIENT_PATHS.find((p) => existsSync(p));
    if (!path) {
      throw new TspError(
        "not-found",
        "load module: P11_KIT_SERVER_ADDRESS is set but p11-kit-client.so is not installed (package p11-kit-modules)",
      );
    }
    return { path, source: "p11-kit-client" };
  }
  const path = SOFTHSM_PATHS.find((p) => existsSync(p));
  if (!path) {
    throw new TspError(
      "not-found",
      "load module: SoftHSM2 is not installed (package softhsm2) and no --module was given",
    );
  }
  prepareEmbeddedStore();
  return { path, source: "embedded" };
}

/**
 * Points SoftHSM at tsp11's own token store unless the user configured one. SoftHSM reads
 * SOFTHSM2_CONF at C_Initialize, so setting it in this process before loading is enough.
 */
function prepareEmbeddedStore(): void {
  if (process.env.SOFTHSM2_CONF) return;
  const home = tsp11Home();
  const conf = join(home, "softhsm2.conf");
  if (!existsSync(conf)) {
    const tokens = join(home, "tokens");
    mkdirSync(tokens, { recursive: true, mode: 0o700 });
    // Written aside and renamed: parallel first runs never read a half-written file.
    const temporary = `${conf}.${process.pid}`;
    writeFileSync(
      temporary,
      `# Written by tsp11 on first use: its own SoftHSM2 token store.\n` +
        `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n` +
        `slots.removable = false\n`,
      { mode: 0o600 },
    );
    renameSync(temporary, conf);
  }
  process.env.SOFTHSM2_CONF = conf;
}
