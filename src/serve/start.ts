/**
 * Starting and stopping the server: one module for the process, the app, the listener
 * (TCP, or a unix socket created with mode 0600), and a graceful stop that lets requests
 * in flight finish, then logs out, closes the sessions and finalizes the module.
 */
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { TspError } from "../errors.js";
import type { ListenTarget, ServeConfig } from "./config.js";
import { formatListen } from "./config.js";
import { buildServer } from "./server.js";
import { TokenManager } from "./tokens.js";

export interface StartOptions extends ServeConfig {
  module: { path: string; params?: string | undefined };
  /** -v: every PKCS#11 call at debug level (PINs redacted by the tracer). */
  trace: boolean;
  logLevel: string;
  logStream?: NodeJS.WritableStream | undefined;
}

export interface RunningServer {
  app: FastifyInstance;
  /** http(s)://host:port, or the socket's path. */
  address: string;
  /** For the start and stop lines (info level whatever the request log level). */
  log: FastifyBaseLogger;
  /** Stops accepting, waits for requests in flight, then releases the module. Idempotent. */
  close(): Promise<void>;
}

/** A socket file left by a server that is gone may be replaced; a live one may not. */
async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new TspError("usage", `serve: --socket ${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => {
      resolve(false);
    });
  });
  if (alive) throw new TspError("conflict", `serve: a server is already listening on ${path}`);
  unlinkSync(path);
}

/** Why listening failed; an address this host lacks or a name that does not resolve is usage. */
function listenFailure(error: unknown): { kind: "usage" | "failure"; why: string } {
  switch ((error as NodeJS.ErrnoException).code) {
    case "EADDRINUSE":
      return { kind: "failure", why: "the address is in use" };
    case "EACCES":
      return { kind: "failure", why: "permission denied" };
    case "EADDRNOTAVAIL":
      return { kind: "usage", why: "no interface of this host has that address" };
    case "ENOTFOUND":
      return { kind: "usage", why: "the name does not resolve" };
    default:
      return { kind: "failure", why: error instanceof Error ? error.message : String(error) };
  }
}

async function listen(app: FastifyInstance, target: ListenTarget): Promise<string> {
  try {
    if (target.kind === "tcp") return await app.listen({ host: target.host, port: target.port });
    await clearStaleSocket(target.path);
    // Created 0600 from the start (no window in which others may connect), and made sure of after.
    const previous = process.umask(0o177);
    try {
      await app.listen({ path: target.path });
    } finally {
      process.umask(previous);
    }
    chmodSync(target.path, 0o600);
    return target.path;
  } catch (error) {
    if (error instanceof TspError) throw error;
    const where = target.kind === "tcp" ? formatListen(target.host, target.port) : target.path;
    const { kind, why } = listenFailure(error);
    throw new TspError(kind, `serve: listen on ${where}: ${why}`, { cause: error });
  }
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  let trace: ((line: string) => void) | undefined;
  const tokens = TokenManager.open({
    module: {
      path: options.module.path,
      params: options.module.params,
      trace: options.trace ? (line) => trace?.(line) : undefined,
    },
  });
  let app: FastifyInstance;
  let address: string;
  try {
    app = buildServer({
      tokens,
      bearerToken: options.bearerToken,
      bodyLimit: options.bodyLimit,
      tls: options.tls,
      logLevel: options.logLevel,
      logStream: options.logStream,
    });
    const log = app.log;
    trace = (line) => {
      log.debug({ pkcs11: line }, "pkcs11 call");
    };
    address = await listen(app, options.target);
  } catch (error) {
    await tokens.close();
    throw error;
  }
  // Start and stop are told at info level even under -q (which keeps only warnings of the
  // requests): whoever started the server learns where it listens.
  const lifecycle = app.log.child({}, { level: "info" });
  lifecycle.info({ address, module: options.module.path }, "tsp11 serve listening");
  let closing: Promise<void> | undefined;
  const running = app;
  return {
    app,
    address,
    log: lifecycle,
    close: () =>
      (closing ??= (async () => {
        await running.close();
        await tokens.close();
        lifecycle.info("tsp11 serve stopped");
      })()),
  };
}
