/**
 * `tsp11 serve` as a child process on a real socket (a random loopback port or a unix
 * socket), and a small HTTP client for it that never reuses connections.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { request as httpRequest } from "node:http";
import type { Agent, IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { BIN } from "./softhsm.js";

export interface ServeTarget {
  /** The address to connect to (default 127.0.0.1). */
  host?: string;
  port?: number;
  socketPath?: string;
  /** HTTPS with this CA certificate (PEM). */
  ca?: Buffer;
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body (undefined when the body is not JSON). */
  json: unknown;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (for malformed JSON and oversized bodies). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** A keep-alive agent to reuse connections with (default: a new connection per request). */
  agent?: Agent;
}

export function http(
  target: ServeTarget,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<HttpResult> {
  const payload =
    options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = {
    ...(payload !== undefined ? { "content-type": "application/json" } : {}),
    ...options.headers,
  };
  if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
  const send = target.ca ? httpsRequest : httpRequest;
  let answered = false;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: target.host ?? "127.0.0.1",
        port: target.port,
        socketPath: target.socketPath,
        method,
        path,
        headers,
        agent: options.agent ?? false,
        ca: target.ca,
        servername: target.ca ? "localhost" : undefined,
        timeout: options.timeoutMs ?? 60_000,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    // A server that answers early may close before the whole body is written: the answer
    // counts, not the write that failed after it.
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    req.end(payload);
  });
}

/** One HTTP/1.1 answer parsed from raw bytes: undefined until all of it has arrived. */
function parseAnswer(bytes: Buffer, ended: boolean): HttpResult | undefined {
  const split = bytes.indexOf("\r\n\r\n");
  if (split < 0) return undefined;
  const [statusLine = "", ...lines] = bytes.subarray(0, split).toString("latin1").split("\r\n");
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const rest = bytes.subarray(split + 4);
  const length = headers["content-length"];
  if (length === undefined && !ended) return undefined;
  if (length !== undefined && rest.length < Number(length)) return undefined;
  const text = rest.subarray(0, length === undefined ? rest.length : Number(length)).toString();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}

/**
 * Sends raw bytes (malformed requests, huge headers, a request the server refuses before its
 * body) and reads the one answer, whatever happens to the write: a server that answers early
 * and closes makes the write fail (EPIPE, ECONNRESET), which is not what is tested.
 */
export function rawHttp(target: ServeTarget, bytes: string | Buffer): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const socket =
      target.socketPath !== undefined
        ? connect(target.socketPath)
        : connect({ host: target.host ?? "127.0.0.1", port: target.port ?? 0 });
    const chunks: Buffer[] = [];
    let failure: Error | undefined;
    const finish = (ended: boolean) => {
      const answer = parseAnswer(Buffer.concat(chunks), ended);
      if (answer) {
        socket.destroy();
        resolve(answer);
      } else if (ended) {
        reject(failure ?? new Error(`no complete answer: ${Buffer.concat(chunks).toString()}`));
      }
    };
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      finish(false);
    });
    socket.on("error", (error) => (failure = error));
    socket.on("close", () => {
      finish(true);
    });
    socket.write(bytes, () => {
      // Errors of the write are the "error" event's; the answer is what counts.
    });
  });
}

export interface ServeProcess {
  child: ChildProcess;
  /** http(s)://127.0.0.1:port, or the socket path. */
  address: string;
  target: ServeTarget;
  /** Everything the server wrote to stderr so far (its JSON log lines). */
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code (128 + n after a signal) once the process is gone. */
  exited: Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/**
 * Starts `tsp11 serve` with the given arguments (default: a random loopback port) and
 * waits for its "listening" log line; rejects with the stderr when it exits first.
 */
export function startServe(
  env: NodeJS.ProcessEnv,
  args: string[] = ["--listen", "127.0.0.1:0"],
  ca?: Buffer,
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, "serve", ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  let out = "";
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  const exited = new Promise<number>((resolve) => {
    child.on("exit", (code, signal) => {
      resolve(code ?? (signal === "SIGKILL" ? 137 : 128));
    });
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`serve did not start:\n${err}`));
    }, 20_000);
    const onData = () => {
      const line = err
        .split("\n")
        .map((text) => {
          try {
            return JSON.parse(text) as { msg?: string; address?: string };
          } catch {
            return undefined;
          }
        })
        .find((entry) => entry?.msg === "tsp11 serve listening");
      if (!line?.address) return;
      clearTimeout(timer);
      child.stderr.off("data", onData);
      const address = line.address;
      const url = address.startsWith("/") ? undefined : new URL(address);
      const target: ServeTarget = url
        ? {
            host: url.hostname.replace(/^\[|\]$/g, ""),
            port: Number(url.port),
            ...(ca ? { ca } : {}),
          }
        : { socketPath: address };
      resolve({
        child,
        address,
        target,
        stderr: () => err,
        stdout: () => out,
        exited,
        stop: async (signal = "SIGTERM") => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stderr.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before listening:\n${err}`));
    });
  });
}

/** Runs `tsp11 serve` expecting it to refuse to start; resolves with its exit code and stderr. */
export async function serveRefusal(
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<{ code: number; stderr: string }> {
  const child = spawn(process.execPath, [BIN, "serve", ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const code = await new Promise<number>((resolve) => {
    child.on("exit", (exit) => {
      resolve(exit ?? 128);
    });
  });
  clearTimeout(timer);
  return { code, stderr: err };
}
