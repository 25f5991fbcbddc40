import { readFile, writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import type { BatchLine } from "../helpers/batch.js";
import { liveBatch, op, parseLines } from "../helpers/batch.js";
import { issue, makeCa, openssl } from "../helpers/pki.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";
import { withTokenLock } from "../../src/pkcs11/token-lock.js";

const available = softhsmAvailable();

interface ObjectJson {
  class: string;
  label: string;
  id: string;
  incomplete?: boolean;
}

async function batch(token: TempToken, input: string, args: string[] = []) {
  const result = await token.tsp11(["batch", "--pin", PIN, ...args], { input });
  return { ...result, lines: parseLines(result.stdout) };
}

async function oneShot(token: TempToken, args: string[], input?: string): Promise<unknown> {
  const result = await token.tsp11([...args, "--pin", PIN, "--json"], { input });
  if (result.code !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

async function objects(token: TempToken): Promise<ObjectJson[]> {
  return (await oneShot(token, ["list-objects"])) as ObjectJson[];
}

describe.skipIf(!available)("tsp11 batch", () => {
  let token: TempToken;
  beforeAll(async () => {
    token = await tempToken();
    return async () => {
      await token[Symbol.asyncDispose]();
    };
  });

  it("answers every line in order, with the one-shot --json of the same operation", async () => {
    const input =
      op("keygen", { keyType: "rsa:2048", label: "rsa-1", id: "01" }) +
      op("req", { key: "rsa-1", subject: "/CN=rsa-1/O=Example", san: ["DNS:rsa-1.example"] }) +
      op("sign", { id: "01", dataBase64: Buffer.from("hello").toString("base64") }) +
      op("list-objects", { id: "01" }) +
      op("list-slots");
    const run = await batch(token, input);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.lines.map((line) => line.ok)).toEqual([true, true, true, true, true]);
    const [keygen, req, sign, listed, slots] = run.lines.map((line) => line.result);
    expect(keygen).toMatchObject({ label: "rsa-1", id: "01", keyType: "rsa", bits: 2048 });
    // RSA PKCS#1 v1.5 signatures are deterministic: the same request, the same signature.
    expect(req).toEqual(
      await oneShot(token, [
        "req",
        "-i",
        "rsa-1",
        "-d",
        "/CN=rsa-1/O=Example",
        "--san",
        "DNS:rsa-1.example",
      ]),
    );
    expect(sign).toEqual(await oneShot(token, ["sign", "--id", "01"], "hello"));
    expect(listed).toEqual(await oneShot(token, ["list-objects", "--id", "01"]));
    expect(slots).toEqual(await oneShot(token, ["list-slots"]));
    // keygen: the same fields as the one-shot's, for another key of the same type.
    const single = (await oneShot(token, [
      "keygen",
      "--key-type",
      "rsa:2048",
      "--label",
      "rsa-2",
      "--id",
      "02",
    ])) as Record<string, unknown>;
    expect(Object.keys(keygen as object).sort()).toEqual(Object.keys(single).sort());
  });

  it("stops at the first failure with its exit code; nothing after it runs", async () => {
    const input =
      op("keygen", { keyType: "ec:prime256v1", label: "stop-1" }) +
      "{not json\n" +
      op("keygen", { keyType: "ec:prime256v1", label: "stop-2" });
    const run = await batch(token, input);
    expect(run.code).toBe(2);
    expect(run.lines).toHaveLength(2);
    expect(run.lines[0]?.ok).toBe(true);
    expect(run.lines[1]).toMatchObject({ ok: false, error: { kind: "usage", exit: 2 } });
    expect(run.lines[1]?.error?.message).toMatch(/^batch: line 2: not JSON/);
    const labels = (await objects(token)).map((object) => object.label);
    expect(labels).toContain("stop-1");
    expect(labels).not.toContain("stop-2");
  });

  it("--continue-on-error runs every line and exits with the highest code seen", async () => {
    const input = [
      op("keygen", { keyType: "ec:prime256v1", label: "go-1", id: "a1" }),
      op("no-such-op"),
      op("keygen", { keyType: "ec:prime256v1", label: "go-1", id: "a1" }), // conflict: 6
      op("req", { key: "missing", subject: "/CN=x" }), // not found: 3
      op("keygen", { label: "no-type" }), // schema: 2
      JSON.stringify({ op: "list-slots", args: {}, extra: 1 }) + "\n",
      "\n", // blank: skipped
      op("keygen", { keyType: "ec:prime256v1", label: "go-2" }),
    ].join("");
    const run = await batch(token, input, ["--continue-on-error"]);
    expect(run.code).toBe(6);
    const summary = run.lines.map((line: BatchLine) => (line.ok ? 0 : line.error?.exit));
    expect(summary).toEqual([0, 2, 6, 3, 2, 2, 0]);
    expect(run.lines[1]?.error?.message).toMatch(/unknown op "no-such-op"/);
    expect(run.lines[4]?.error?.message).toBe(
      "batch: line 5: args must have required property 'keyType'",
    );
    expect(run.lines[5]?.error?.message).toMatch(/unknown field "extra"/);
  });

  it("answers a line over 1 MiB with an exit-2 result and goes on", async () => {
    const long = `{"op":"list-slots","args":{"x":"${"a".repeat(1024 * 1024)}"}}\n`;
    const run = await batch(token, long + op("list-slots"), ["--continue-on-error"]);
    expect(run.code).toBe(2);
    expect(run.lines).toHaveLength(2);
    expect(run.lines[0]?.error?.message).toBe("batch: line 1: longer than 1048576 bytes");
    expect(run.lines[1]?.ok).toBe(true);
  });

  it("streams: each result arrives before the next line is written", async () => {
    const live = liveBatch(token, ["--pin", PIN]);
    live.child.stdin.write(op("keygen", { keyType: "ec:prime256v1", label: "live-1" }));
    expect(await live.next()).toMatchObject({ ok: true, result: { label: "live-1" } });
    live.child.stdin.write(op("list-objects", { label: "live-1" }));
    const listed = await live.next();
    expect((listed.result as ObjectJson[]).map((object) => object.class).sort()).toEqual([
      "private-key",
      "public-key",
    ]);
    live.child.stdin.end();
    expect(await live.exited).toBe(0);
  });

  it("Ctrl-C mid-batch exits 130 and leaves no half-made key", async () => {
    const live = liveBatch(token, ["--pin", PIN]);
    live.child.stdin.write(op("keygen", { keyType: "ec:prime256v1", label: "int-1" }));
    expect((await live.next()).ok).toBe(true);
    // Wherever the signal lands (reading, during the generation, after it), the key is whole or absent.
    live.child.stdin.write(op("keygen", { keyType: "rsa:3072", label: "int-2", id: "c2" }));
    live.child.kill("SIGINT");
    expect(await live.exited).toBe(130);
    const listed = await objects(token);
    expect(listed.filter((object) => object.incomplete)).toEqual([]);
    const halves = listed.filter((object) => object.label === "int-2").map((o) => o.class);
    expect([[], ["private-key", "public-key"]]).toContainEqual(halves.sort());
  });

  it("provisions devices: keygen + req in one batch, the CA, certificates in a second", async () => {
    const devices = ["dev-1", "dev-2", "dev-3"];
    const first = devices
      .map(
        (name, i) =>
          op("keygen", { keyType: "ec:prime256v1", label: name, id: `d${i}` }) +
          op("req", { key: name, subject: `/CN=${name}/O=Factory` }),
      )
      .join("");
    const run = await batch(token, first);
    expect(run.code).toBe(0);
    const ca = await makeCa(token);
    const certs: string[] = [];
    for (const [i, name] of devices.entries()) {
      const { pem } = run.lines[2 * i + 1]?.result as { pem: string };
      const csr = token.path(`${name}.csr`);
      await writeFile(csr, pem);
      await openssl(token, ["req", "-in", csr, "-noout", "-verify"]);
      await issue(token, ca, csr, token.path(`${name}.crt`));
      certs.push(await readFile(token.path(`${name}.crt`), "utf8"));
    }
    const second = devices
      .map((name, i) => op("write-object", { type: "cert", pem: certs[i], id: `d${i}` }))
      .join("");
    const written = await batch(token, second);
    expect(written.code).toBe(0);
    expect(written.lines.map((line) => line.result)).toEqual(
      devices.map((name, i): unknown =>
        expect.objectContaining({ class: "certificate", label: name, id: `d${i}` }),
      ),
    );
  });

  /**
   * Starts `reader` while this test holds the token's lock, writes a data object labelled
   * `label` with pkcs11-tool (which takes no lock) 1.5 s later, then lets go: a reader that
   * waits for the lock sees the object; one that does not has already run without it.
   */
  async function whileLocked<T>(label: string, reader: () => Promise<T>): Promise<T> {
    const { module } = (await oneShot(token, ["info"])) as { module: string };
    const [slot] = (await oneShot(token, ["list-slots"])) as { token: { serial: string } }[];
    const key = { modulePath: module, serial: slot?.token.serial ?? "", label: token.label };
    const home = process.env.TSP11_HOME;
    process.env.TSP11_HOME = token.env.TSP11_HOME;
    try {
      const { started } = await withTokenLock(key, "test", async () => {
        const started = reader();
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const file = token.path(`${label}.bin`);
        await writeFile(file, "late\n");
        const write = await token.pkcs11Tool([
          "--login",
          "--pin",
          PIN,
          "--write-object",
          file,
          "--type",
          "data",
          "--label",
          label,
        ]);
        expect(write.code, write.stderr).toBe(0);
        // Not awaited under the lock: the reader is waiting for it.
        return { started };
      });
      return await started;
    } finally {
      if (home === undefined) delete process.env.TSP11_HOME;
      else process.env.TSP11_HOME = home;
    }
  }

  it("lists under the token's lock: a listing waits while another process writes", async () => {
    const listing = await whileLocked("written-meanwhile", () =>
      batch(token, op("list-objects", { label: "written-meanwhile" })),
    );
    expect(listing.code, listing.stderr).toBe(0);
    expect(listing.lines[0]?.result).toEqual([
      expect.objectContaining({ class: "data", label: "written-meanwhile" }),
    ]);
  });

  it("delete-object finds what it deletes under the token's lock too", async () => {
    const deleted = await whileLocked("deleted-meanwhile", () =>
      token.tsp11([
        "delete-object",
        "--type",
        "data",
        "--label",
        "deleted-meanwhile",
        "--yes",
        "--pin",
        PIN,
      ]),
    );
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await objects(token)).not.toContainEqual(
      expect.objectContaining({ label: "deleted-meanwhile" }),
    );
  });
});
