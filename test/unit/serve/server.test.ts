/**
 * The HTTP layer in-process (Fastify's inject), over a stand-in for the token manager: the
 * error object and statuses, request and answer validation, the bearer check, /openapi.json.
 * The PKCS#11 side is tested against SoftHSM in test/integration/serve.test.ts.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { TspError } from "../../../src/errors.js";
import { buildServer } from "../../../src/serve/server.js";
import type { TokenManager } from "../../../src/serve/tokens.js";

/** Answers every module-wide read with `answer` (or throws it). */
function stubTokens(answer: unknown): TokenManager {
  const run = () => (answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer));
  return { shared: run, exclusive: run, withToken: run } as unknown as TokenManager;
}

function app(answer: unknown, bearerToken?: string) {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return { server: buildServer({ tokens: stubTokens(answer), bearerToken, logStream }), lines };
}

const slot = {
  slot: 1,
  description: "d",
  manufacturer: "m",
  tokenPresent: true,
  token: null,
};

describe("serve HTTP layer", () => {
  it("sends the core's answer, fields beyond the schema included", async () => {
    const { server } = app([{ ...slot, extra: "kept" }]);
    const result = await server.inject({ method: "GET", url: "/v1/slots" });
    expect(result.statusCode).toBe(200);
    expect(result.json()).toEqual([{ ...slot, extra: "kept" }]);
  });

  it("checks answers against their schema: a malformed one is a 500, not a lie", async () => {
    const { server, lines } = app([{ slot: "one" }]);
    const result = await server.inject({ method: "GET", url: "/v1/slots" });
    expect(result.statusCode).toBe(500);
    expect(result.json()).toMatchObject({ error: { code: "failure", exit: 1 } });
    expect(lines.join("")).toContain("does not match its schema");
  });

  it.each([
    [new TspError("usage", "bad"), 400, "usage", 2, "usage"],
    [
      new TspError("auth", "log in: incorrect PIN", { ckr: "CKR_PIN_INCORRECT" }),
      401,
      "CKR_PIN_INCORRECT",
      4,
      "auth",
    ],
    [new TspError("not-found", "no such token"), 404, "not-found", 3, "not-found"],
    [new TspError("conflict", "exists"), 409, "conflict", 6, "conflict"],
    [new TspError("module", "cannot load"), 500, "module", 5, "module"],
    [
      new TspError("failure", "sign: failed", { ckr: "CKR_GENERAL_ERROR" }),
      500,
      "CKR_GENERAL_ERROR",
      1,
      "failure",
    ],
    [new Error("boom"), 500, "failure", 1, "failure"],
  ])("maps %s to HTTP %i with the CLI's error object", async (error, status, code, exit, kind) => {
    const { server } = app(error);
    const result = await server.inject({ method: "GET", url: "/v1/slots" });
    expect(result.statusCode).toBe(status);
    const body = result.json<{
      error: { code: string; exit: number; message: string; kind: string; ckr?: string };
    }>();
    expect(body.error).toMatchObject({ code, exit, kind });
    const ckr = error instanceof TspError ? error.ckr : undefined;
    // ckr only when a PKCS#11 call failed; then it is also the code and ends the message.
    expect(body.error.ckr).toBe(ckr);
    expect("ckr" in body.error).toBe(ckr !== undefined);
    if (ckr) expect(body.error.message).toContain(`(${ckr})`);
  });

  it("refuses a JSON body of the wrong content type and an empty one", async () => {
    const { server } = app({});
    const text = await server.inject({
      method: "POST",
      url: "/v1/tokens",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "label=x",
    });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ error: { code: "usage", exit: 2 } });
    const empty = await server.inject({
      method: "POST",
      url: "/v1/tokens",
      headers: { "content-type": "application/json" },
      payload: "",
    });
    expect(empty.statusCode).toBe(400);
  });

  it("does not coerce body types: a string is not a number", async () => {
    const { server } = app({ slot: 1, label: "x", serial: "s", uri: "u" });
    const result = await server.inject({
      method: "POST",
      url: "/v1/tokens",
      payload: { slot: "1", label: "x", soPin: "1234" },
    });
    expect(result.statusCode).toBe(400);
    expect(result.json<{ error: { message: string } }>().error.message).toContain("slot");
  });

  it("checks the bearer token in constant time, before anything else", async () => {
    const { server } = app([slot], "s3cret-token");
    expect((await server.inject({ method: "GET", url: "/v1/slots" })).statusCode).toBe(401);
    const good = await server.inject({
      method: "GET",
      url: "/v1/slots",
      headers: { authorization: "Bearer s3cret-token" },
    });
    expect(good.statusCode).toBe(200);
    const prefix = await server.inject({
      method: "GET",
      url: "/v1/slots",
      headers: { authorization: "Bearer s3cret-token-and-more" },
    });
    expect(prefix.statusCode).toBe(401);
    expect((await server.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    const doc = await server.inject({ method: "GET", url: "/openapi.json" });
    expect(doc.json()).toMatchObject({ security: [{ bearer: [] }] });
  });
});
