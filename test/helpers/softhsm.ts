/**
 * Real SoftHSM2 tokens for integration tests: each test gets a token store of its own in a
 * fresh temporary directory (own softhsm2.conf, own SOFTHSM2_CONF in the child's env only).
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Writable } from "node:stream";
import { promisify } from "node:util";

export const SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so";
export const BIN = resolve(import.meta.dirname, "../../bin/tsp11");
export const SO_PIN = "12345678";
export const PIN = "1234";

const execFileAsync = promisify(execFile);

/** Integration tests need SoftHSM; under CI (or TSP11_REQUIRE_SOFTHSM) its absence is a failure. */
export function softhsmAvailable(): boolean {
  const present = existsSync(SOFTHSM);
  if (!present && (process.env.CI || process.env.TSP11_REQUIRE_SOFTHSM)) {
    throw new Error(`SoftHSM2 is required for the integration tests but ${SOFTHSM} is missing`);
  }
  return present;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  cwd?: string;
}

/** The environment a test child sees: nothing of the developer's TSP11_/PKCS#11 settings. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(TSP11_|SOFTHSM2_CONF$|P11_KIT_SERVER|NO_COLOR$|FORCE_COLOR$)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

export function runCommand(
  file: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: "pipe",
      // A session of its own, without a controlling terminal: run from a developer's terminal,
      // a child that wants a PIN must fail (exit 4), not ask on /dev/tty.
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolvePromise({
        code: code ?? (signal ? 128 : 1),
        stdout: stdoutBytes.toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        stdoutBytes,
      });
    });
    const input = child.stdin as Writable | null;
    if (input) {
      // A child may exit before reading its input: that is its answer, not a test failure.
      input.on("error", () => undefined);
      input.end(options.input);
    }
  });
}

export class TempToken implements AsyncDisposable {
  readonly dir: string;
  readonly label: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(dir: string, label: string) {
    this.dir = dir;
    this.label = label;
    this.env = cleanEnv({
      SOFTHSM2_CONF: join(dir, "softhsm2.conf"),
      TSP11_HOME: join(dir, "home"),
    });
  }

  /** Runs the built tsp11 against this token store. */
  tsp11(
    args: string[],
    options: Omit<RunOptions, "env"> & { env?: NodeJS.ProcessEnv } = {},
  ): Promise<RunResult> {
    return runCommand(process.execPath, [BIN, ...args], {
      ...options,
      env: { ...this.env, ...options.env },
    });
  }

  /** OpenSC's pkcs11-tool on the same store: the oracle. */
  pkcs11Tool(args: string[]): Promise<RunResult> {
    return runCommand("pkcs11-tool", ["--module", SOFTHSM, ...args], { env: this.env });
  }

  async exec(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
    return runCommand(file, args, { ...options, env: { ...this.env, ...options.env } });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface TempTokenOptions {
  label?: string;
  /** false: leave the store with only the free slot. */
  init?: boolean;
  pin?: string;
}

export async function tempStore(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tsp11-test-"));
  await mkdir(join(dir, "tokens"));
  await writeFile(
    join(dir, "softhsm2.conf"),
    `directories.tokendir = ${join(dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  return dir;
}

/** A store with one initialized token (label, SO PIN 12345678, user PIN 1234). */
export async function tempToken(options: TempTokenOptions = {}): Promise<TempToken> {
  const dir = await tempStore();
  const token = new TempToken(dir, options.label ?? "test");
  if (options.init !== false) await initToken(token, token.label, options.pin ?? PIN);
  return token;
}

export async function initToken(token: TempToken, label: string, pin = PIN): Promise<void> {
  await execFileAsync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", pin],
    {
      env: token.env,
    },
  );
}

/** The token store's files, to show that a refused command changed nothing. */
export async function storeSnapshot(token: TempToken): Promise<string> {
  const { stdout } = await execFileAsync("sh", [
    "-c",
    `cd "${token.dir}/tokens" && find . -type f -exec sha1sum {} + | sort`,
  ]);
  return stdout;
}

/**
 * Runs `body` in a child node process with pkcs11js on the token, logged in as the user in a
 * read-write session: `p` (the module), `p11` (its constants) and `s` (the session) are in
 * scope. For objects tsp11 and pkcs11-tool cannot make (data objects in bulk, DES3 keys).
 */
export async function withPkcs11js(token: TempToken, body: string): Promise<void> {
  const script = `
import { createRequire } from "node:module";
const p11 = createRequire(${JSON.stringify(import.meta.url)})("pkcs11js");
const p = new p11.PKCS11(); p.load(${JSON.stringify(SOFTHSM)});
p.C_Initialize({ flags: p11.CKF_OS_LOCKING_OK });
const [slot] = p.C_GetSlotList(true);
const s = p.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION);
p.C_Login(s, p11.CKU_USER, ${JSON.stringify(PIN)});
try {
${body}
} finally {
  p.C_Logout(s); p.C_CloseSession(s); p.C_Finalize();
}
`;
  const result = await token.exec(process.execPath, ["--input-type=module", "-e", script]);
  if (result.code !== 0) throw new Error(`pkcs11js script failed: ${result.stderr}`);
}
