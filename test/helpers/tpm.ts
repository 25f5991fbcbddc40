/**
 * A software TPM for tpm2-pkcs11, private to one test file: swtpm (TPM state in a temp dir),
 * a D-Bus session bus of its own, and tpm2-abrmd on it (swtpm alone has 3 transient object
 * slots: without the resource manager a process can hold only one key pair). Each runs in a
 * process group of its own and is stopped by its id. The dictionary-attack lockout is
 * turned off, or three wrong PINs would lock every token for 1000 s.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { Daemon } from "./modules.js";
import { startDaemon, TPM2_PKCS11, waitForSocket } from "./modules.js";
import { cleanEnv } from "./softhsm.js";

const execFileAsync = promisify(execFile);

/** Everything the stack needs: programs and the module (Debian packages in the report). */
export const TPM_COMPONENTS = [
  TPM2_PKCS11,
  "swtpm",
  "dbus-daemon",
  "tpm2-abrmd",
  "tpm2_getcap",
  "tpm2_dictionarylockout",
  "/usr/lib/x86_64-linux-gnu/libtss2-tcti-tabrmd.so.0",
  "/usr/lib/x86_64-linux-gnu/libtss2-tcti-swtpm.so.0",
];

export class SoftwareTpm implements AsyncDisposable {
  readonly dir: string;
  /** The environment tpm2-pkcs11 (and tsp11 loading it) runs in. */
  readonly env: NodeJS.ProcessEnv;
  readonly #daemons: Daemon[];

  constructor(dir: string, env: NodeJS.ProcessEnv, daemons: Daemon[]) {
    this.dir = dir;
    this.env = env;
    this.#daemons = daemons;
  }

  /** Stops abrmd, the bus and swtpm (in that order) and removes the directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const daemon of [...this.#daemons].reverse()) await daemon.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function untilReady(
  what: string,
  probe: () => Promise<unknown>,
  daemon: Daemon,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await probe();
      return;
    } catch (error) {
      if (!daemon.running) {
        throw new Error(`${daemon.name} exited:\n${daemon.stderr}`, { cause: error });
      }
      if (Date.now() > deadline) throw new Error(`${what} not ready`, { cause: error });
      await sleep(50);
    }
  }
}

export async function startSoftwareTpm(): Promise<SoftwareTpm> {
  const dir = await mkdtemp(join(tmpdir(), "tsp11-tpm-"));
  const state = join(dir, "state");
  const store = join(dir, "store");
  await mkdir(state);
  await mkdir(store);
  const socket = join(dir, "tpm.sock");
  const bus = join(dir, "bus");
  const base = cleanEnv({ HOME: dir });
  const daemons: Daemon[] = [];
  const started = new SoftwareTpm(dir, {}, daemons);
  try {
    const swtpm = startDaemon(
      "swtpm",
      "swtpm",
      [
        "socket",
        "--tpm2",
        "--tpmstate",
        `dir=${state}`,
        "--flags",
        "not-need-init,startup-clear",
        "--log",
        `file=${join(dir, "swtpm.log")}`,
        "--server",
        `type=unixio,path=${socket}`,
        // swtpm wants the control channel at <socket>.ctrl for the swtpm TCTI.
        "--ctrl",
        `type=unixio,path=${socket}.ctrl`,
      ],
      base,
    );
    daemons.push(swtpm);
    const dbus = startDaemon(
      "dbus-daemon",
      "dbus-daemon",
      ["--session", "--nofork", "--nopidfile", `--address=unix:path=${bus}`],
      base,
    );
    daemons.push(dbus);
    await waitForSocket(socket, swtpm);
    await waitForSocket(bus, dbus);
    const busEnv = { ...base, DBUS_SESSION_BUS_ADDRESS: `unix:path=${bus}` };
    const abrmd = startDaemon(
      "tpm2-abrmd",
      "tpm2-abrmd",
      ["--session", "--allow-root", `--tcti=swtpm:path=${socket}`],
      busEnv,
    );
    daemons.push(abrmd);
    const env: NodeJS.ProcessEnv = {
      ...busEnv,
      TPM2TOOLS_TCTI: "tabrmd:bus_type=session",
      TPM2_PKCS11_TCTI: "tabrmd:bus_type=session",
      TPM2_PKCS11_STORE: store,
      // The TSS's own log lines (the library still prints "ERROR: ..." on failures).
      TSS2_LOG: "all+NONE",
    };
    await untilReady(
      "tpm2-abrmd",
      () => execFileAsync("tpm2_getcap", ["properties-fixed"], { env }),
      abrmd,
    );
    await execFileAsync(
      "tpm2_dictionarylockout",
      [
        "--setup-parameters",
        "--max-tries=4294967295",
        "--recovery-time=0",
        "--lockout-recovery-time=0",
      ],
      { env },
    );
    return new SoftwareTpm(dir, env, daemons);
  } catch (error) {
    await started[Symbol.asyncDispose]();
    throw error;
  }
}
