import { request } from "node:http";
import type { IncomingMessage } from "node:http";
import { createInterface } from "node:readline";
import { beforeAll, describe, expect, it } from "vitest";
import type { BatchLine } from "../helpers/batch.js";
import { op, parseLines } from "../helpers/batch.js";
import type { ServeProcess } from "../helpers/serve.js";
import { http, startServe } from "../helpers/serve.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();
const NDJSON = { "content-type": "application/x-ndjson" };

describe.skipIf(!available)("serve: POST /v1/tokens/{label}/batch", () => {
  let token: TempToken;
  let server: ServeProcess;
  beforeAll(async () => {
    token = await tempToken({ label: "batch" });
    server = await startServe(token.env);
    return async () => {
      await server.stop();
      await token[Symbol.asyncDispose]();
    };
  });

  const post = (body: string, query = "", pin: string | null = PIN) =>
    http(server.target, "POST", `/v1/tokens/batch/batch${query}`, {
      rawBody: body,
      headers: { ...NDJSON, ...(pin === null ? {} : { "x-pkcs11-pin": pin }) },
    });

  it("answers NDJSON in order, with the same results as the single endpoints", async () => {
    const answer = await post(
      op("keygen", { keyType: "ec:prime256v1", label: "s-1", id: "51" }) +
        op("list-objects", { id: "51" }) +
        op("list-slots"),
    );
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toMatch(/^application\/x-ndjson/);
    const lines = parseLines(answer.text);
    expect(lines.map((line) => line.ok)).toEqual([true, true, true]);
    expect(lines[0]?.result).toMatchObject({ label: "s-1", id: "51", keyType: "ec" });
    const listed = await http(server.target, "GET", "/v1/tokens/batch/objects?id=51", {
      headers: { "x-pkcs11-pin": PIN },
    });
    expect(lines[1]?.result).toEqual(listed.json);
    expect(lines[2]?.result).toEqual((await http(server.target, "GET", "/v1/slots")).json);
  });

  it("stops at the first failure, or goes on with ?continueOnError=true", async () => {
    const body =
      op("keygen", { keyType: "ec:prime256v1" }) + op("req", { key: "nope", subject: "/CN=x" });
    const stopped = parseLines((await post(body)).text);
    expect(stopped).toHaveLength(1);
    expect(stopped[0]?.error).toMatchObject({ kind: "usage", exit: 2 });
    expect(stopped[0]?.error?.message).toBe(
      "batch: line 1: args must have required property 'label'",
    );
    const all = parseLines((await post(body, "?continueOnError=true")).text);
    expect(all.map((line) => line.error?.exit)).toEqual([2, 3]);
  });

  it("refuses a wrong PIN before any line; without a PIN, lines that need one fail", async () => {
    const wrong = await post(op("list-slots"), "", "0000");
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ error: { kind: "auth", code: "CKR_PIN_INCORRECT" } });
    const none = parseLines(
      (
        await post(
          op("list-slots") + op("keygen", { keyType: "ec:prime256v1", label: "x" }),
          "?continueOnError=true",
          null,
        )
      ).text,
    );
    expect(none[0]?.ok).toBe(true);
    expect(none[1]?.error).toMatchObject({ kind: "auth", exit: 4 });
    const json = await http(server.target, "POST", "/v1/tokens/batch/batch", {
      body: { op: "list-slots" },
      headers: { "x-pkcs11-pin": PIN },
    });
    expect(json.status).toBe(415);
    expect(json.json).toMatchObject({ error: { kind: "usage" } });
  });

  it("runs the other endpoints' ops with their answers; without a PIN, a key's value is refused", async () => {
    const keygen = await post(
      op("keygen", { keyType: "ec:prime256v1", label: "v-1", id: "61" }) +
        op("keygen", {
          keyType: "aes:128",
          label: "x-1",
          id: "62",
          extractable: true,
          sensitive: false,
        }),
    );
    expect(parseLines(keygen.text).map((line) => line.ok)).toEqual([true, true]);
    const dataBase64 = Buffer.from("serve batch").toString("base64");
    const signed = await http(server.target, "POST", "/v1/tokens/batch/sign", {
      body: { id: "61", dataBase64 },
      headers: { "x-pkcs11-pin": PIN },
    });
    const { signatureBase64 } = signed.json as { signatureBase64: string };
    const lines = parseLines(
      (
        await post(
          op("verify", { id: "61", dataBase64, signatureBase64 }) +
            op("read-object", { object: "61", type: "pubkey" }) +
            op("read-object", { object: "62", type: "secret" }),
          "?continueOnError=true",
          null,
        )
      ).text,
    );
    expect(lines[0]).toEqual({ ok: true, result: { valid: true, mechanism: "ECDSA-SHA256" } });
    const single = await http(server.target, "GET", "/v1/tokens/batch/objects/61?type=pubkey");
    expect(lines[1]).toEqual({ ok: true, result: single.json });
    // Keys are private objects: read-object of a secret needs the login, as its endpoint does.
    expect(lines[2]?.error).toMatchObject({ kind: "auth", exit: 4 });
    const withPin = parseLines(
      (await post(op("read-object", { object: "62", type: "secret" }))).text,
    );
    expect(withPin[0]).toMatchObject({ ok: true, result: { class: "secret-key", id: "62" } });
  });

  it("bounds each line, not the body, by the body limit", async () => {
    const long = `{"op":"list-slots","args":{"x":"${"a".repeat(1024 * 1024)}"}}\n`;
    const answer = await post(long + op("list-slots"), "?continueOnError=true");
    expect(answer.status).toBe(200);
    const lines = parseLines(answer.text);
    expect(lines[0]?.error?.message).toBe("batch: line 1: longer than 1048576 bytes");
    expect(lines[1]?.ok).toBe(true);
  });

  it("streams both ways: a result arrives while the request body is still open", async () => {
    const req = request({
      host: server.target.host ?? "127.0.0.1",
      port: server.target.port,
      method: "POST",
      path: "/v1/tokens/batch/batch",
      headers: { ...NDJSON, "x-pkcs11-pin": PIN },
      agent: false,
    });
    const response = new Promise<IncomingMessage>((resolve) => req.on("response", resolve));
    req.write(op("keygen", { keyType: "ec:prime256v1", label: "stream-1" }));
    const res = await response;
    expect(res.statusCode).toBe(200);
    const reader = createInterface({ input: res })[Symbol.asyncIterator]();
    const next = async (): Promise<BatchLine> =>
      JSON.parse(((await reader.next()).value as string | undefined) ?? "null") as BatchLine;
    expect(await next()).toMatchObject({ ok: true, result: { label: "stream-1" } });
    req.write(op("list-objects", { label: "stream-1" }));
    expect(((await next()).result as unknown[]).length).toBe(2);
    req.end();
    expect((await reader.next()).done).toBe(true);
  });
});
