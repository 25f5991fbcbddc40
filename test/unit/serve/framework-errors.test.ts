/**
 * Every error answer of the HTTP layer is the contract's error object, the framework's own
 * included: unknown routes, bad URL encoding, media types, unparsable JSON, bodies over the
 * limit, and requests Node's parser refuses before any route sees them (431, malformed
 * request lines), sent over a real socket because inject() bypasses the parser.
 */
import { connect } from "node:net";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../../src/serve/server.js";
import type { TokenManager } from "../../../src/serve/tokens.js";
import type { HttpResult, ServeTarget } from "../../helpers/serve.js";
import { http, rawHttp } from "../../helpers/serve.js";

const PIN = "pin-4b1e9d77c2";
const KINDS = ["usage", "not-found", "auth", "module", "conflict", "verify", "failure"];

interface ErrorJson {
  error: { code: string; exit: number; message: string; kind: string; ckr?: string };
}

/** The error object, checked to have the contract's fields and nothing of Fastify's own. */
function errorOf(result: HttpResult): ErrorJson["error"] {
  const body = result.json as ErrorJson | undefined;
  if (!body?.error) throw new Error(`not the error object: HTTP ${result.status} ${result.text}`);
  expect(Object.keys(body)).toEqual(["error"]);
  expect(KINDS).toContain(body.error.kind);
  expect(body.error.code).toBe(body.error.ckr ?? body.error.kind);
  return body.error;
}

/** A request line and headers, ending the head. */
function head(lines: string[]): string {
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** A token manager that hands out nothing: these requests never reach a token. */
const noTokens = {
  shared: () => Promise.resolve([]),
  exclusive: () => Promise.resolve([]),
  withToken: () => Promise.resolve([]),
} as unknown as TokenManager;

describe("serve: the framework's own errors over a real socket", () => {
  let app: FastifyInstance;
  let target: ServeTarget;
  const logs: string[] = [];
  beforeAll(async () => {
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString("utf8"));
        done();
      },
    });
    app = buildServer({ tokens: noTokens, logStream, bodyLimit: 4096 });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    target = { port: typeof address === "object" && address ? address.port : 0 };
  });
  afterAll(() => app.close());

  it("answers an unknown route 404 with the error object", async () => {
    const result = await http(target, "GET", "/v2/nothing");
    expect(result.status).toBe(404);
    expect(errorOf(result)).toMatchObject({ code: "not-found", kind: "not-found", exit: 3 });
  });

  it("answers a path segment that is not valid percent-encoding 400", async () => {
    for (const path of ["/v1/tokens/%FF%FE/objects", "/v1/tokens/%E0%A4%A/keys"]) {
      const result = await rawHttp(target, head([`GET ${path} HTTP/1.1`, "Host: x"]));
      expect(result.status, result.text).toBe(400);
      const error = errorOf(result);
      expect(error).toMatchObject({ code: "usage", kind: "usage", exit: 2 });
      expect(error.message).toContain("percent-encoded");
    }
  });

  it("answers headers over Node's limit 431, and never logs what they carried", async () => {
    const result = await rawHttp(
      target,
      head([
        "GET /v1/slots HTTP/1.1",
        "Host: x",
        `X-PKCS11-PIN: ${PIN}`,
        `X-Filler: ${"a".repeat(64 * 1024)}`,
      ]),
    );
    expect(result.status).toBe(431);
    expect(result.headers.connection).toBe("close");
    const error = errorOf(result);
    expect(error).toMatchObject({ code: "usage", kind: "usage", exit: 2 });
    expect(error.message).toContain("headers are larger");
    expect(logs.join("")).toContain("request refused");
    expect(logs.join("")).not.toContain(PIN);
  });

  it.each([
    ["a request line that is not HTTP", "GARBAGE\r\n\r\n"],
    ["a method Node does not know", head(["FROB /v1/slots HTTP/1.1", "Host: x"])],
    ["a header line without a colon", head(["GET /v1/slots HTTP/1.1", "Host: x", "broken"])],
    [
      "two Content-Length headers that disagree",
      head(["POST /v1/tokens HTTP/1.1", "Host: x", "Content-Length: 1", "Content-Length: 2"]),
    ],
    [
      "a bad chunk size",
      `${head(["POST /v1/tokens HTTP/1.1", "Host: x", "Content-Type: application/json", "Transfer-Encoding: chunked"])}zz\r\n`,
    ],
  ])("answers %s 400 with the error object", async (_what, bytes) => {
    const result = await rawHttp(target, bytes);
    expect(result.status).toBe(400);
    const error = errorOf(result);
    expect(error).toMatchObject({ code: "usage", kind: "usage", exit: 2 });
    expect(error.message).toMatch(/^malformed HTTP request: /);
  });

  it("answers a body that is not JSON 415, and unparsable JSON 400", async () => {
    const text = await http(target, "POST", "/v1/tokens", {
      rawBody: "label=x",
      headers: { "content-type": "application/xml" },
    });
    expect(text.status).toBe(415);
    expect(errorOf(text)).toMatchObject({ code: "usage", kind: "usage", exit: 2 });
    expect(errorOf(text).message).toContain("application/json");
    const broken = await http(target, "POST", "/v1/tokens", { rawBody: "{not json" });
    expect(broken.status).toBe(400);
    expect(errorOf(broken)).toMatchObject({ code: "usage", kind: "usage" });
    expect(errorOf(broken).message).toContain("not valid JSON");
  });

  it("answers a body over the limit 413 from its declared length", async () => {
    // Only the head is sent: the answer must come without the body.
    const result = await rawHttp(
      target,
      head([
        "POST /v1/tokens HTTP/1.1",
        "Host: x",
        "Content-Type: application/json",
        "Content-Length: 5000",
      ]),
    );
    expect(result.status).toBe(413);
    expect(errorOf(result)).toMatchObject({ code: "usage", kind: "usage", exit: 2 });
    expect(errorOf(result).message).toContain("4096 bytes");
  });

  it("reads a refused body to its end, so the client still sending it gets the 413", async () => {
    const body = JSON.stringify({ label: "x".repeat(5000), soPin: "1" });
    const refused = [
      "POST /v1/tokens HTTP/1.1",
      "Host: x",
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(body)}`,
    ];
    // The refused body, then a second request on the same connection: the body is dropped,
    // never read as a request, and the connection stays usable.
    const bytes = `${head(refused)}${body}${head(["GET /healthz HTTP/1.1", "Host: x"])}`;
    const socket = connect({ host: "127.0.0.1", port: target.port ?? 0 });
    const text = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("error", reject);
      socket.on("close", () => {
        resolve(Buffer.concat(chunks).toString());
      });
      socket.end(bytes);
    });
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]);
    expect(statuses).toEqual(["413", "200"]);
    expect(text).toContain('{"ok":true}');
  });

  it("closes the connection after refusing a body declared far over the limit", async () => {
    const result = await rawHttp(
      target,
      head([
        "POST /v1/tokens HTTP/1.1",
        "Host: x",
        "Content-Type: application/json",
        "Content-Length: 1000000000",
      ]),
    );
    expect(result.status).toBe(413);
    expect(result.headers.connection).toBe("close");
  });
});

/** Resolves once the server stopped listening (its preClose hooks have run by then). */
async function stoppedListening(app: FastifyInstance): Promise<void> {
  while (app.server.listening) await new Promise((resolve) => setImmediate(resolve));
}

describe("serve: a stopping server", () => {
  it("refuses a request that arrives once the stop has begun with 503 and the error object", async () => {
    let started: () => void = () => undefined;
    const inHandler = new Promise<void>((resolve) => (started = resolve));
    let release: (value: unknown[]) => void = () => undefined;
    const slow = new Promise<unknown[]>((resolve) => (release = resolve));
    const tokens = {
      shared: () => {
        started();
        return slow;
      },
    } as unknown as TokenManager;
    const app = buildServer({
      tokens,
      logStream: new Writable({
        write: (_c, _e, d) => {
          d();
        },
      }),
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    const target = { port: typeof address === "object" && address ? address.port : 0 };
    // A connection with half a request is busy, not idle: the stop does not close it.
    const late = connect({ host: "127.0.0.1", port: target.port });
    await new Promise((resolve) => late.once("connect", resolve));
    late.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    // A request in flight holds the stop open; once it is in its handler, the half request
    // (written before it) has been read too.
    const inFlight = http(target, "GET", "/v1/slots");
    await inHandler;
    const closed = app.close();
    await stoppedListening(app);
    const answer = new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      late.on("data", (chunk: Buffer) => chunks.push(chunk));
      late.on("error", reject);
      late.on("close", () => {
        resolve(Buffer.concat(chunks));
      });
    });
    late.write("\r\n");
    const text = (await answer).toString();
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text.toLowerCase()).toContain("connection: close");
    const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)) as ErrorJson;
    expect(body.error).toMatchObject({ code: "failure", kind: "failure", exit: 1 });
    expect(body.error.message).toContain("stopping");
    release([]);
    expect((await inFlight).status).toBe(200);
    await closed;
  });
});
