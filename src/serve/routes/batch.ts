/**
 * POST /v1/tokens/{label}/batch: `tsp11 batch` over HTTP, through the same loop. The NDJSON
 * body is read line by line as it arrives (each line bounded by the body limit, not the
 * whole body) and every result line is written as its operation ends, on one session of
 * the token with one login. Errors before the first line (token, PIN) answer as any route's;
 * after that, each operation's error is its result line.
 */
import type { Readable } from "node:stream";
import { PassThrough } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { loginOf } from "../../batch/operation.js";
import type { BatchTarget } from "../../batch/run.js";
import { ndjsonLines, runBatch } from "../../batch/run.js";
import { TspError } from "../../errors.js";
import { HttpError } from "../errors.js";
import type { Schema, Services } from "../route.js";
import { pinOf, warnTo } from "../route.js";
import { ERROR_SCHEMA, LABEL_PARAMS, PIN_HEADERS } from "../schemas.js";

export const NDJSON = "application/x-ndjson";

export const BATCH_QUERY: Schema = {
  type: "object",
  additionalProperties: false,
  properties: {
    continueOnError: { type: "boolean", description: "run every line, as --continue-on-error" },
  },
};

function isReadable(body: unknown): body is Readable {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

/** Waits while the client reads slowly; a client gone away ends the batch. */
async function writeLine(out: PassThrough, line: string): Promise<void> {
  if (out.destroyed) throw new TspError("failure", "batch: the client went away");
  if (out.write(line)) return;
  await new Promise<void>((resolve) => {
    out.once("drain", resolve);
    out.once("close", resolve);
  });
}

function batchHandler(services: Services, maxLine: number) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const body = request.body;
    if (!isReadable(body)) {
      throw new HttpError(415, "usage", `send the batch as ${NDJSON}, one operation a line`);
    }
    const { label } = request.params as { label: string };
    const query = request.query as { continueOnError?: boolean };
    const pin = pinOf(request.headers);
    const out = new PassThrough();
    let streaming = false;
    let started: () => void = () => undefined;
    const start = new Promise<void>((resolve) => (started = resolve));
    const finished = services.tokens.withToken(
      label,
      pin,
      "if-pin",
      async ({ scope, authenticated }) => {
        streaming = true;
        void reply.code(200).type(NDJSON).send(out);
        started();
        const target: BatchTarget = {
          run: (operation, prepared, args) => {
            const login = loginOf(operation, args);
            if (login === "required" && !authenticated && scope.token.loginRequired) {
              throw new TspError(
                "auth",
                `log in to token "${scope.token.label}": a PIN is needed (send it in the X-PKCS11-PIN header)`,
              );
            }
            return prepared({ scope, authenticated, warn: warnTo(request.log).warn });
          },
        };
        const lines = ndjsonLines(body, maxLine);
        const options = { continueOnError: query.continueOnError === true };
        await runBatch(lines, (line) => writeLine(out, line), target, options);
      },
      { writes: true },
    );
    finished.then(
      () => out.end(),
      (error: unknown) => {
        if (!streaming) return;
        request.log.info({ err: error }, "batch ended early");
        out.destroy();
      },
    );
    // Until the token is open and logged in, an error is an ordinary error answer.
    await Promise.race([start, finished]);
    return reply;
  };
}

/** Registered in a scope of its own: the NDJSON body parser applies to this route only. */
export function registerBatchRoute(
  app: FastifyInstance,
  services: Services,
  maxLine: number,
): void {
  void app.register((scope, _options, done) => {
    scope.addContentTypeParser(NDJSON, (_request, payload, parsed) => {
      parsed(null, payload);
    });
    scope.route({
      method: "POST",
      url: "/v1/tokens/:label/batch",
      schema: {
        params: LABEL_PARAMS,
        querystring: BATCH_QUERY,
        headers: PIN_HEADERS,
        response: { "4xx": ERROR_SCHEMA, "5xx": ERROR_SCHEMA },
      },
      config: { auth: true },
      handler: batchHandler(services, maxLine),
    });
    done();
  });
}
