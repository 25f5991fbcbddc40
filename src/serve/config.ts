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

/** One DNS name: labels of letters, digits and inner hyphens. */
const HOSTNAME =
  /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** An IPv6 address with an optional zone (`fe80::1%eth0`): the interface name or index. */
const ZONED_V6 = /^([^%]+)(?:%([\w.-]{1,64}))?$/;

/** `host:port` with an IPv6 host in brackets (`[::1]:8443`, `[fe80::1%eth0]:8443`). */
export function formatListen(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Why a --listen host is not one; undefined when it is. */
function hostProblem(host: string, bracketed: boolean): string | undefined {
  if (bracketed) {
    const zoned = ZONED_V6.exec(host);
    return zoned?.[1] !== undefined && isIP(zoned[1]) === 6
      ? undefined
      : `"${host}" is not an IPv6 address (a zone goes after %, as in [fe80::1%eth0])`;
  }
  if (/^[\d.]+$/.test(host)) {
    return isIP(host) === 4 ? undefined : `"${host}" is not an IPv4 address`;
  }
  return HOSTNAME.test(host) ? undefined : `"${host}" is not a host name or address`;
}

/** `host:port`, `[v6]:port` (a zone allowed) or `:port` (loopback). */
export function parseListen(text: string): { host: string; port: number } {
  const refuse = (why: string): TspError =>
    new TspError(
      "usage",
      `serve: invalid --listen "${text}": ${why}; expected host:port, [ipv6]:port or :port`,
    );
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) {
    const colons = text.split(":").length - 1;
    throw refuse(
      text.includes("[") || text.includes("]")
        ? "an IPv6 address goes in [brackets] followed by :port"
        : colons > 1
          ? "an IPv6 address goes in brackets"
          : "no port",
    );
  }
  const port = Number(match[3]);
  if (port > 65535) throw refuse(`port ${port} is over 65535`);
  const bracketed = match[1] !== undefined;
  const host = match[1] ?? (match[2] || "127.0.0.1");
  const problem = hostProblem(host, bracketed);
  if (problem) throw refuse(problem);
  return { host, port };
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped, also with a zone) and the name localhost. */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase();
  if (name === "localhost") return true;
  const v4 = name.startsWith("::ffff:") ? name.slice(7) : name;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  const address = ZONED_V6.exec(name)?.[1] ?? "";
  // The URL parser writes an IPv6 address in its shortest form: [::1] for every spelling of it.
  return isIP(address) === 6 && new URL(`http://[${address}]/`).hostname === "[::1]";
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
      `serve: refusing to listen on ${formatListen(target.host, target.port)} without --auth-token-file: beyond loopback every request must carry a bearer token`,
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
