/**
 * The Fastify app of `tsp11 serve`, built from a ServeContext: every route of routes/ with
 * its schemas (request bodies refuse unknown fields; answers are checked before they go
 * out), the bearer token check, the CLI's error object for every failure, structured
 * request logs on stderr with PINs and tokens redacted, and /openapi.json.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import Fastify, { LogController } from "fastify";
import type {
  ConnectionError,
  FastifyBaseLogger,
  FastifyHttpsOptions,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from "fastify";
import { HttpError, renderClientError, renderError } from "./errors.js";
import { openApiDocument } from "./openapi.js";
import type { RouteSpec, Schema, Services } from "./route.js";
import { pinOf } from "./route.js";
import { registerBatchRoute } from "./routes/batch.js";
import { ROUTES } from "./routes/index.js";
import { ERROR_SCHEMA, PIN_HEADERS } from "./schemas.js";
import { formatValidation, validators } from "./validation.js";
import type { TokenManager } from "./tokens.js";

/** The contract's default body limit: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface ServeContext {
  tokens: TokenManager;
  /** --auth-token-file's token: every request but /healthz needs `Authorization: Bearer <it>`. */
  bearerToken?: string | undefined;
  bodyLimit?: number | undefined;
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** pino level: info by default, warn with -q, debug with -v. */
  logLevel?: string | undefined;
  /** Where the JSON log lines go (default: stderr). */
  logStream?: NodeJS.WritableStream | undefined;
}

/** Never logged, whatever a serializer might include. */
const REDACTED = [
  'req.headers["x-pkcs11-pin"]',
  "req.headers.authorization",
  "req.body.soPin",
  "req.body.pin",
  "req.body.keyPass",
  "req.body.newPin",
];

/**
 * A PKCS#11 URI in a path or query (GET .../objects/{uri}, DELETE ...?uri=) may carry
 * pin-value: it is refused, and its value never reaches the log, encoded once or twice.
 */
const PIN_IN_URL = /(pin-value(?:=|%3D|%253D))(?:(?!%3B|%26|%253B|%2526)[^;&#\s])*/gi;

export function scrubUrl(url: string): string {
  return url.replace(PIN_IN_URL, "$1***");
}

/**
 * Fastify's request serializer, with the URL scrubbed. The socket may be gone by the time a
 * streamed answer (batch) is logged as completed: its fields are then left out.
 */
function requestForLog(request: FastifyRequest): Record<string, unknown> {
  const socket = request.raw.socket as FastifyRequest["socket"] | null;
  return {
    method: request.method,
    url: scrubUrl(request.url),
    host: request.host,
    remoteAddress: socket?.remoteAddress,
    remotePort: socket?.remotePort,
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Authorization: Bearer <token>, compared in constant time (digests of equal length). */
function bearerChecker(token: string): (header: string | undefined) => boolean {
  const expected = digest(token);
  return (header) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
  };
}

/**
 * One log line per request, once it is answered: method, path, client, status, time. Never
 * headers or bodies (the default serializers leave them out; REDACTED is the second belt).
 */
class RequestLog extends LogController {
  override incomingRequest(): void {
    // The completion line carries the request too.
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const entry = { req: request, res: reply, ms: reply.elapsedTime };
    if (error) reply.log.error({ ...entry, err: error }, "request errored");
    else reply.log.info(entry, "request completed");
  }
}

/**
 * A request Node's parser refused (headers over its limit, a malformed request line): the
 * error object written on the raw socket, which then closes. The raw error is never logged:
 * its `rawPacket` holds the request's bytes, PIN header included.
 */
function answerClientError(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  const answer = renderClientError(error);
  // A response already under way on this connection cannot be followed by another one.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!answer || socket.destroyed || !socket.writable || current?.headersSent) {
    socket.destroy();
    return;
  }
  this.log.info({ error: answer.body.error, parser: error.code }, "request refused");
  const body = JSON.stringify(answer.body);
  const head = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? "Error"}`,
    "Content-Type: application/json; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
  ];
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`, () => socket.destroy());
}

function fastifyOptions(context: ServeContext, bodyLimit: number): FastifyServerOptions {
  return {
    logger: {
      level: context.logLevel ?? "info",
      stream: context.logStream ?? process.stderr,
      redact: { paths: REDACTED, censor: "***" },
      serializers: { req: requestForLog },
    },
    bodyLimit,
    // A PKCS#11 URI in a path segment (GET .../objects/{uri}) is longer than Fastify's 100.
    routerOptions: { maxParamLength: 2048 },
    // Answered by the onRequest hook of buildServer, with the error object.
    return503OnClosing: false,
    logController: new RequestLog(),
    schemaErrorFormatter: formatValidation,
    // Errors before routing: a path segment that is not valid percent-encoding, and the like.
    frameworkErrors: (error, request, reply) => {
      void sendError(error, request, reply, bodyLimit);
    },
    clientErrorHandler: answerClientError,
  };
}

function createApp(context: ServeContext, bodyLimit: number): FastifyInstance {
  const options = fastifyOptions(context, bodyLimit);
  if (!context.tls) return Fastify(options);
  // The same options with `https` (FastifyServerOptions lacks it: another generic instance).
  const https = {
    ...options,
    https: { cert: context.tls.cert, key: context.tls.key },
  } as FastifyHttpsOptions<HttpsServer>;
  return Fastify(https);
}

function registerRoute(app: FastifyInstance, route: RouteSpec, services: Services): void {
  const schema: Schema = {
    ...(route.body ? { body: route.body } : {}),
    ...(route.query ? { querystring: route.query } : {}),
    ...(route.params ? { params: route.params } : {}),
    ...(route.pin ? { headers: PIN_HEADERS } : {}),
    response: { [String(route.status)]: route.response, "4xx": ERROR_SCHEMA, "5xx": ERROR_SCHEMA },
  };
  app.route({
    method: route.method,
    url: route.url,
    schema,
    config: { auth: route.auth !== false },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const result = await route.handler(
        {
          body: request.body,
          query: request.query,
          params: request.params,
          pin: route.pin ? pinOf(request.headers) : undefined,
          log: request.log,
        },
        services,
      );
      return reply.code(route.status).send(result);
    },
  });
}

/** The most a refused body is read (and dropped) for, in multiples of the limit. */
const DISCARD_FACTOR = 16;

/**
 * Whether a body refused as too large may be read to its end and dropped (Node does that to
 * a body no one read, when the connection stays open) instead of closing the connection under
 * a client still sending it: that client would get EPIPE or ECONNRESET, not the 413. Only a
 * declared length, and not too large a one.
 */
function canDiscardBody(request: FastifyRequest, bodyLimit: number): boolean {
  const declared = Number(request.headers["content-length"]);
  return (
    request.headers["transfer-encoding"] === undefined &&
    Number.isSafeInteger(declared) &&
    declared <= DISCARD_FACTOR * bodyLimit
  );
}

function sendError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  bodyLimit: number,
): FastifyReply {
  const rendered = renderError(error);
  if (rendered.status === 413) {
    rendered.body.error.message = `request body is larger than ${bodyLimit} bytes`;
    if (canDiscardBody(request, bodyLimit)) void reply.removeHeader("connection");
  }
  const log: FastifyBaseLogger = request.log;
  if (rendered.unexpected) log.error({ err: error }, "request failed");
  else log.info({ error: rendered.body.error }, "request refused");
  if (error instanceof HttpError && error.status === 401) {
    void reply.header("www-authenticate", 'Bearer realm="tsp11"');
  }
  return reply.code(rendered.status).send(rendered.body);
}

/**
 * Graceful stop: answers still in flight close their connection, so a keep-alive client does
 * not hold the stopping server open (idle connections are closed by Fastify); requests that
 * arrive once the stop has begun are refused with 503.
 */
function addStopHooks(app: FastifyInstance, bodyLimit: number): void {
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  app.addHook("onRequest", (request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    const stopping = new HttpError(503, "failure", "the server is stopping; try again later");
    void sendError(stopping, request, reply, bodyLimit);
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) void reply.header("connection", "close");
    done(null, payload);
  });
}

function addBearerCheck(
  app: FastifyInstance,
  bearer: (header: string | undefined) => boolean,
): void {
  app.addHook("onRequest", (request, _reply, done) => {
    const config = request.routeOptions.config as { auth?: boolean };
    if (config.auth === false || bearer(request.headers.authorization)) {
      done();
      return;
    }
    done(
      new HttpError(401, "auth", "a valid bearer token is needed (Authorization: Bearer <token>)"),
    );
  });
}

/** Builds the app (routes, hooks, error handling); listening is the caller's. */
export function buildServer(context: ServeContext): FastifyInstance {
  const bodyLimit = context.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = createApp(context, bodyLimit);
  const ajv = validators();
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === "body" ? ajv.body : ajv.other).compile(schema),
  );
  // Answers are checked against their schema, then written as they are (fields may be added).
  app.setSerializerCompiler(({ schema, url }) => {
    const validate = ajv.response.compile(schema);
    return (data: unknown) => {
      if (!validate(data)) {
        throw new Error(
          `the answer of ${url} does not match its schema: ${ajv.response.errorsText(validate.errors)}`,
        );
      }
      return JSON.stringify(data);
    };
  });

  addStopHooks(app, bodyLimit);
  const bearer = context.bearerToken ? bearerChecker(context.bearerToken) : undefined;
  if (bearer) addBearerCheck(app, bearer);

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply, bodyLimit));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new HttpError(
        404,
        "not-found",
        `no such endpoint: ${request.method} ${scrubUrl(request.url.split("?")[0] ?? "")}`,
      ),
      request,
      reply,
      bodyLimit,
    ),
  );

  const services: Services = { tokens: context.tokens };
  for (const route of ROUTES) registerRoute(app, route, services);
  registerBatchRoute(app, services, bodyLimit);
  const document = openApiDocument(ROUTES, { bearer: bearer !== undefined });
  app.get("/openapi.json", { config: { auth: false } }, (_request, reply) => reply.send(document));
  return app;
}
