/**
 * OpenSSL as the other party of the provisioning tests: a throw-away CA that issues
 * certificates for CSRs, and small wrappers around the oracles' command lines.
 */
import { createPublicKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { RunResult, TempToken } from "./softhsm.js";
import { BIN, runCommand, SOFTHSM } from "./softhsm.js";

/** Where the CA's files go and the environment its commands run in: a TempToken, or any dir. */
export type Workspace = Pick<TempToken, "path" | "env">;

/** Runs a program in the token's environment (stdin only when there is input). */
export function execQuiet(
  token: Workspace,
  file: string,
  args: string[],
  options: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return runCommand(file, args, { env: { ...token.env, ...options.env }, input: options.input });
}

/** Runs openssl in the token's environment; a non-zero exit fails the test with its stderr. */
export async function openssl(
  token: Workspace,
  args: string[],
  input?: string | Buffer,
): Promise<RunResult> {
  const result = await execQuiet(token, "openssl", args, input === undefined ? {} : { input });
  if (result.code !== 0) {
    throw new Error(`openssl ${args.join(" ")} failed (${result.code}):\n${result.stderr}`);
  }
  return result;
}

/** The built tsp11 on the token's store (as token.tsp11, with execQuiet's stdin handling). */
export function tsp11(
  token: TempToken,
  args: string[],
  options: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return execQuiet(token, process.execPath, [BIN, ...args], options);
}

/** pkcs11-tool on the token's store, without stdin. */
export function pkcs11Tool(token: TempToken, args: string[]): Promise<RunResult> {
  return execQuiet(token, "pkcs11-tool", ["--module", SOFTHSM, ...args]);
}

export interface TestCa {
  cert: string;
  key: string;
}

/** A self-signed RSA CA in the token's directory. */
export async function makeCa(token: Workspace, name = "ca"): Promise<TestCa> {
  const ca = { cert: token.path(`${name}Cert.pem`), key: token.path(`${name}Key.pem`) };
  await openssl(token, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    ca.key,
    "-out",
    ca.cert,
    "-subj",
    `/O=tsp11 tests/CN=${name} test CA`,
    "-days",
    "30",
  ]);
  return ca;
}

/** The CA signs a CSR (PEM file) and the PEM certificate is written to `out`. */
export async function issue(token: Workspace, ca: TestCa, csr: string, out: string): Promise<void> {
  await openssl(token, [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    "365",
    "-out",
    out,
  ]);
}

/** PEM certificate → DER file. */
export async function toDer(token: TempToken, pem: string, out: string): Promise<Buffer> {
  await openssl(token, ["x509", "-in", pem, "-outform", "DER", "-out", out]);
  return readFile(out);
}

/** A public key file (DER SPKI or PEM, as pkcs11-tool writes it) as a canonical DER SPKI. */
export function canonicalSpki(bytes: Buffer): Buffer {
  const text = bytes.toString("latin1");
  const key = text.includes("-----BEGIN")
    ? createPublicKey(text)
    : createPublicKey({ key: bytes, format: "der", type: "spki" });
  return key.export({ type: "spki", format: "der" });
}

/** pkcs11-tool's export of an object (cert, pubkey, data) by id or label. */
export async function readObject(
  token: TempToken,
  type: "cert" | "pubkey" | "data",
  select: string[],
  out: string,
  pin?: string,
): Promise<Buffer> {
  const login = pin === undefined ? [] : ["--login", "--pin", pin];
  const result = await pkcs11Tool(token, [
    ...login,
    "--read-object",
    "--type",
    type,
    ...select,
    "-o",
    out,
  ]);
  if (result.code !== 0) throw new Error(`pkcs11-tool --read-object failed:\n${result.stderr}`);
  return readFile(out);
}

/** The token's object listing as pkcs11-tool prints it (logged in): the before/after oracle. */
export async function objectListing(token: TempToken, pin: string): Promise<string> {
  const result = await pkcs11Tool(token, ["-O", "--login", "--pin", pin]);
  if (result.code !== 0) throw new Error(`pkcs11-tool -O failed:\n${result.stderr}`);
  return result.stdout;
}

/** The environment the OpenSSL pkcs11 engine (libp11) needs to reach SoftHSM. */
export function engineEnv(): NodeJS.ProcessEnv {
  return { PKCS11_MODULE_PATH: SOFTHSM };
}
