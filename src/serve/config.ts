/**
 * serve's options, checked before anything is loaded: where to listen (loopback by default;
 * anything else only with a bearer token), the token file, TLS files, the body limit.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { TspError } from "../errors.js";

export type ListenTarget =
  { kind: "tcp"; host: string; port: number } | { kind: "socket"; path: string };

export interface ServeFlags {
  listen?: string | undefined;
  socket?: string | undefined;
  authTokenFile?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  bodyLimit?: number | undefined;
}

export interface ServeConfig {
  target: ListenTarget;
  bearerToken: string | undefined;
  tls: { cert: Buffer; key: Buffer } | undefined;
  bodyLimit: number | undefined;
}

export const DEFAULT_LISTEN = "127.0.0.1:8443";

/** `host:port`, `[v6]:port` or `:port` (loopback). */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new TspError(
      "usage",
      `serve: invalid --listen "${text}": expected host:port, [ipv6]:port or :port`,
    );
  }
  const host = match[1] ?? (match[2] || "127.0.0.1");
  return { host, port };
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and the name localhost. */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase();
  if (name === "localhost") return true;
  const v4 = name.startsWith("::ffff:") ? name.slice(7) : name;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  // The URL parser writes an IPv6 address in its shortest form: [::1] for every spelling of it.
  return isIP(name) === 6 && new URL(`http://[${name}]/`).hostname === "[::1]";
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const why =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot read it";
    throw new TspError("usage", `serve: read ${what} ${path}: ${why}`, { cause: error });
  }
}

/** The bearer token: the file's text, one trailing newline stripped; it must not be empty. */
function readBearerToken(path: string): string {
  const token = readFile(path, "--auth-token-file")
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (token === "" || /\s/.test(token)) {
    throw new TspError(
      "usage",
      `serve: --auth-token-file ${path} must hold one token without spaces (e.g. openssl rand -hex 32)`,
    );
  }
  return token;
}

export function serveConfig(flags: ServeFlags): ServeConfig {
  if (flags.listen !== undefined && flags.socket !== undefined) {
    throw new TspError("usage", "serve: give either --listen or --socket, not both");
  }
  let target: ListenTarget;
  if (flags.socket !== undefined) {
    if (flags.socket === "") throw new TspError("usage", "serve: --socket needs a path");
    target = { kind: "socket", path: flags.socket };
  } else {
    target = { kind: "tcp", ...parseListen(flags.listen ?? DEFAULT_LISTEN) };
  }
  const bearerToken =
    flags.authTokenFile === undefined ? undefined : readBearerToken(flags.authTokenFile);
  if (target.kind === "tcp" && !isLoopback(target.host) && bearerToken === undefined) {
    throw new TspError(
      "usage",
      `serve: refusing to listen on ${target.host}:${target.port} without --auth-token-file: beyond loopback every request must carry a bearer token`,
    );
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new TspError("usage", "serve: --tls-cert and --tls-key go together");
  }
  const tls =
    flags.tlsCert !== undefined && flags.tlsKey !== undefined
      ? { cert: readFile(flags.tlsCert, "--tls-cert"), key: readFile(flags.tlsKey, "--tls-key") }
      : undefined;
  return { target, bearerToken, tls, bodyLimit: flags.bodyLimit };
}
