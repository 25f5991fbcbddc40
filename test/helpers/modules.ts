/**
 * Real PKCS#11 modules other than SoftHSM for the module suites: where they live, whether
 * they are installed (missing ones skip locally, fail under CI), and daemons (p11-kit
 * server, swtpm, ...) started in a process group of their own and stopped by its id.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { createConnection } from "node:net";
import { delimiter, isAbsolute, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const LIB = "/usr/lib/x86_64-linux-gnu";
export const P11KIT_CLIENT = `${LIB}/pkcs11/p11-kit-client.so`;
export const P11KIT_PROXY = `${LIB}/p11-kit-proxy.so`;
export const OPENSC = `${LIB}/pkcs11/opensc-pkcs11.so`;
export const NSS_SOFTOKN = `${LIB}/libsoftokn3.so`;
export const TPM2_PKCS11 = `${LIB}/pkcs11/libtpm2_pkcs11.so`;

function onPath(command: string): boolean {
  if (isAbsolute(command)) return existsSync(command);
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/**
 * Whether every file (absolute path) and command (name on PATH) a suite needs is there.
 * Under CI (or TSP11_REQUIRE_MODULES) a missing one fails the suite instead of skipping it.
 */
export function componentsAvailable(suite: string, needed: readonly string[]): boolean {
  const missing = needed.filter((item) => !onPath(item));
  if (missing.length === 0) return true;
  if (process.env.CI || process.env.TSP11_REQUIRE_MODULES) {
    throw new Error(`${suite} needs ${missing.join(", ")} (see scripts/debian-packages.txt)`);
  }
  return false;
}

/** A background process in its own process group; stop() signals the whole group. */
export class Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly #stderr: Buffer[] = [];
  readonly #exited: Promise<number | null>;
  #running = true;

  constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    child.stderr?.on("data", (chunk: Buffer) => this.#stderr.push(chunk));
    this.#exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        this.#running = false;
        resolve(code ?? (signal ? 128 : null));
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.#running;
  }

  get stderr(): string {
    return Buffer.concat(this.#stderr).toString("utf8");
  }

  /** SIGTERM to the group (the server and its per-connection children); SIGKILL after 3 s. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    try {
      process.kill(-this.pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-this.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, 3000);
    await this.#exited;
    clearTimeout(timer);
  }
}

export function startDaemon(
  name: string,
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdout: "ignore" | "pipe" = "ignore",
): Daemon {
  const child = spawn(file, args, { detached: true, stdio: ["ignore", stdout, "pipe"], env });
  child.on("error", () => undefined);
  return new Daemon(name, child);
}

/** Waits until a unix socket accepts a connection (the file exists before listen()). */
export async function waitForSocket(
  path: string,
  daemon?: Daemon,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = createConnection(path);
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => {
        resolve(false);
      });
    });
    if (accepted) return;
    if (daemon && !daemon.running) {
      throw new Error(`${daemon.name} exited before listening on ${path}:\n${daemon.stderr}`);
    }
    if (Date.now() > deadline) throw new Error(`nothing listens on ${path} after ${timeoutMs} ms`);
    await sleep(25);
  }
}

export interface P11KitServer {
  daemon: Daemon;
  socket: string;
  /** The value for P11_KIT_SERVER_ADDRESS. */
  address: string;
  stop(): Promise<void>;
}

/**
 * `p11-kit server -f` exporting the tokens the URIs name from one provider module; ready
 * once its socket accepts (a client connecting earlier silently sees no slots). The idle
 * timeout (-t) is a safety net should a test run die without stopping it.
 */
export async function startP11KitServer(
  socket: string,
  provider: string,
  uris: string[],
  env: NodeJS.ProcessEnv,
): Promise<P11KitServer> {
  const daemon = startDaemon(
    "p11-kit server",
    "p11-kit",
    ["server", "-f", "-t", "600", "-n", socket, "--provider", provider, ...uris],
    env,
  );
  try {
    await waitForSocket(socket, daemon);
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  return { daemon, socket, address: `unix:path=${socket}`, stop: () => daemon.stop() };
}
