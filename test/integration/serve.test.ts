/**
 * `tsp11 serve` over real sockets against real SoftHSM tokens: the provisioning flow end to
 * end (checked by openssl and pkcs11-tool), the error statuses, login isolation, the bearer
 * token and listening rules, the unix socket, TLS, graceful SIGTERM and PIN-free logs.
 */
import { createPublicKey, verify as verifySignature } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { Agent } from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import { issue, makeCa, openssl, pkcs11Tool } from "../helpers/pki.js";
import type { HttpResult, ServeProcess } from "../helpers/serve.js";
import { http, rawHttp, serveRefusal, startServe } from "../helpers/serve.js";
import type { TempToken } from "../helpers/softhsm.js";
import { initToken, softhsmAvailable, SO_PIN, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

/** Whether the loopback interface has ::1 (not in every container). */
function ipv6Loopback(): boolean {
  try {
    return /^0{31}1 .* lo$/m.test(readFileSync("/proc/net/if_inet6", "utf8"));
  } catch {
    return false;
  }
}

/** Distinctive PINs, so finding them in a log cannot be a coincidence (a port, a timestamp). */
const USER_PIN = "u-pin-9f3a7c1e";
const SOPIN = "so-pin-5d2b8e4a";
const WRONG_PIN = "wrong-pin-77c4d2";

interface ErrorJson {
  error: { code: string; exit: number; message: string; kind: string; ckr?: string };
}

function errorOf(result: HttpResult): ErrorJson["error"] {
  return (result.json as ErrorJson).error;
}

function withPin(pin: string = USER_PIN): { headers: Record<string, string> } {
  return { headers: { "x-pkcs11-pin": pin } };
}

/** Fails with the answer's text when the status is not the expected one. */
function expectStatus(result: HttpResult, status: number): void {
  if (result.status !== status) {
    throw new Error(`expected HTTP ${status}, got ${result.status}: ${result.text}`);
  }
}

interface SlotJson {
  slot: number;
  token: null | { label: string; initialized: boolean; flags: string[] };
}

async function tokenFlags(server: ServeProcess, label: string): Promise<string[]> {
  const slots = (await http(server.target, "GET", "/v1/slots")).json as SlotJson[];
  return slots.find((slot) => slot.token?.label === label)?.token?.flags ?? [];
}

describe.skipIf(!available)("serve: the provisioning flow over HTTP", () => {
  let store: TempToken;
  let rsaPublicPem = "";
  let server: ServeProcess;
  beforeAll(async () => {
    store = await tempToken({ init: false });
    server = await startServe(store.env);
    return async () => {
      await server.stop();
      await store[Symbol.asyncDispose]();
    };
  });

  it("initializes a token, makes a key, a CSR, stores the issued certificate and lists it", async () => {
    expect((await http(server.target, "GET", "/healthz")).json).toEqual({ ok: true });
    const before = (await http(server.target, "GET", "/v1/slots")).json as SlotJson[];
    expect(before).toHaveLength(1);
    expect(before[0]?.token?.initialized).toBe(false);

    const init = await http(server.target, "POST", "/v1/tokens", {
      body: { label: "prov", soPin: SOPIN, pin: USER_PIN },
    });
    expectStatus(init, 201);
    const token = init.json as { slot: number; label: string; serial: string; uri: string };
    expect(token).toMatchObject({ label: "prov" });
    expect(token.uri).toContain("token=prov");
    // Reported as it is after SoftHSM renumbered it, the same as GET /v1/slots says.
    const after = (await http(server.target, "GET", "/v1/slots")).json as SlotJson[];
    expect(after.find((slot) => slot.token?.label === "prov")?.slot).toBe(token.slot);

    const key = await http(server.target, "POST", "/v1/tokens/prov/keys", {
      body: { keyType: "rsa:2048", label: "web" },
      ...withPin(),
    });
    expectStatus(key, 201);
    const keyJson = key.json as { id: string; publicKeyPem: string; usage: string[] };
    expect(key.json).toMatchObject({ label: "web", keyType: "rsa", bits: 2048, usage: ["sign"] });
    expect(keyJson.id).toMatch(/^[0-9a-f]{40}$/);
    rsaPublicPem = keyJson.publicKeyPem;

    const csr = await http(server.target, "POST", "/v1/tokens/prov/csr", {
      body: {
        key: "web",
        subject: "/O=Example/CN=web.example",
        san: ["DNS:web.example", "IP:10.0.0.1"],
      },
      ...withPin(),
    });
    expectStatus(csr, 200);
    const csrJson = csr.json as { pem: string; subject: string; keyId: string };
    expect(csr.json).toMatchObject({
      subject: "CN=web.example,O=Example",
      signatureAlgorithm: "sha256WithRSAEncryption",
      keyId: keyJson.id,
    });
    const csrFile = store.path("web.csr");
    await writeFile(csrFile, csrJson.pem);
    // OpenSSL 3.0 exits 0 even on a bad signature: the words are the oracle.
    const verified = await openssl(store, ["req", "-in", csrFile, "-verify", "-noout"]);
    expect(verified.stdout + verified.stderr).toContain("verify OK");

    const ca = await makeCa(store);
    const certFile = store.path("web.pem");
    await issue(store, ca, csrFile, certFile);
    const certPem = await readFile(certFile, "utf8");
    const written = await http(server.target, "POST", "/v1/tokens/prov/objects", {
      body: { type: "cert", pem: certPem },
      ...withPin(),
    });
    expectStatus(written, 201);
    expect(written.json).toMatchObject({
      class: "certificate",
      id: keyJson.id,
      label: "web",
      subject: "CN=web.example,O=Example",
    });

    const listed = await http(server.target, "GET", "/v1/tokens/prov/objects", withPin());
    expectStatus(listed, 200);
    const objects = listed.json as { class: string; id: string; label: string }[];
    expect(objects.filter((o) => o.id === keyJson.id).map((o) => o.class)).toEqual([
      "private-key",
      "public-key",
      "certificate",
    ]);

    const oracle = await pkcs11Tool(store, ["-O", "--login", "--pin", USER_PIN]);
    expect(oracle.code).toBe(0);
    expect(oracle.stdout).toMatch(/Certificate Object; type = X\.509 cert\s+label:\s+web/);
    expect(oracle.stdout).toContain(`ID:         ${keyJson.id}`);
    expect(oracle.stdout).toMatch(/Private Key Object; RSA\s+label:\s+web/);
  });

  it("signs with RSA and EC keys; openssl checks the signatures", async () => {
    const ec = await http(server.target, "POST", "/v1/tokens/prov/keys", {
      body: { keyType: "ec:P-256", label: "ec-1", usage: ["sign"] },
      ...withPin(),
    });
    expectStatus(ec, 201);
    const ecKey = ec.json as { id: string; publicKeyPem: string; curve: string };
    expect(ecKey.curve).toBe("prime256v1");
    const data = Buffer.from("the data to be signed\n");

    const rsaSign = await http(server.target, "POST", "/v1/tokens/prov/sign", {
      body: { key: "web", dataBase64: data.toString("base64") },
      ...withPin(),
    });
    expectStatus(rsaSign, 200);
    const rsa = rsaSign.json as { mechanism: string; signatureBase64: string };
    expect(rsa.mechanism).toBe("SHA256-RSA-PKCS");
    const objects = (
      await http(server.target, "GET", "/v1/tokens/prov/objects?type=pubkey&label=web")
    ).json as { id: string }[];
    expect(objects).toHaveLength(1);

    const ecSign = await http(server.target, "POST", "/v1/tokens/prov/sign", {
      body: { id: ecKey.id, dataBase64: data.toString("base64") },
      ...withPin(),
    });
    expectStatus(ecSign, 200);
    const ecJson = ecSign.json as { mechanism: string; format: string; signatureBase64: string };
    expect(ecJson).toMatchObject({ mechanism: "ECDSA-SHA256", format: "der" });

    // openssl dgst -verify with each key's public half, as the CLI tests check.
    for (const [name, pem, signature] of [
      ["rsa", rsaPublicPem, rsa.signatureBase64],
      ["ec", ecKey.publicKeyPem, ecJson.signatureBase64],
    ] as const) {
      const keyFile = store.path(`${name}.pub.pem`);
      const sigFile = store.path(`${name}.sig`);
      const dataFile = store.path("data.txt");
      await writeFile(keyFile, pem);
      await writeFile(sigFile, Buffer.from(signature, "base64"));
      await writeFile(dataFile, data);
      const checked = await openssl(store, [
        "dgst",
        "-sha256",
        "-verify",
        keyFile,
        "-signature",
        sigFile,
        dataFile,
      ]);
      expect(checked.stdout).toContain("Verified OK");
    }

    const raw = await http(server.target, "POST", "/v1/tokens/prov/sign", {
      body: { key: "ec-1", dataBase64: data.toString("base64"), format: "raw" },
      ...withPin(),
    });
    expectStatus(raw, 200);
    const rawSig = Buffer.from((raw.json as { signatureBase64: string }).signatureBase64, "base64");
    expect(rawSig).toHaveLength(64);
    expect(
      verifySignature(
        "sha256",
        data,
        { key: createPublicKey(ecKey.publicKeyPem), dsaEncoding: "ieee-p1363" },
        rawSig,
      ),
    ).toBe(true);
  });

  it("stores DER objects and keeps private objects from requests without the PIN", async () => {
    const data = await http(server.target, "POST", "/v1/tokens/prov/objects", {
      body: { type: "data", derBase64: Buffer.from("notes").toString("base64"), label: "notes" },
      ...withPin(),
    });
    expectStatus(data, 201);
    expect(data.json).toMatchObject({ class: "data", label: "notes" });

    // The token is logged in (by the requests above), yet without a PIN only public objects show.
    const anonymous = await http(server.target, "GET", "/v1/tokens/prov/objects");
    expectStatus(anonymous, 200);
    const classes = (anonymous.json as { class: string; private: boolean }[]).map((o) => o.class);
    expect(classes).not.toContain("private-key");
    expect(classes).toContain("public-key");
    expect((anonymous.json as { private: boolean }[]).every((o) => !o.private)).toBe(true);
    const signed = await http(server.target, "POST", "/v1/tokens/prov/sign", {
      body: { key: "web", dataBase64: "AA==" },
    });
    expect(signed.status).toBe(401);
  });

  it("describes itself at /openapi.json from the same schemas", async () => {
    const result = await http(server.target, "GET", "/openapi.json");
    expectStatus(result, 200);
    const doc = result.json as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content: Record<string, { schema: { additionalProperties?: boolean } }>;
            };
          }
        >
      >;
    };
    expect(doc.openapi).toBe("3.1.0");
    // Contains: other endpoints (read, delete, verify, cert, ...) are listed too.
    expect(Object.keys(doc.paths).sort()).toEqual(
      expect.arrayContaining([
        "/healthz",
        "/v1/slots",
        "/v1/tokens",
        "/v1/tokens/{label}/csr",
        "/v1/tokens/{label}/keys",
        "/v1/tokens/{label}/objects",
        "/v1/tokens/{label}/sign",
        "/v1/tokens/{label}/encrypt",
        "/v1/tokens/{label}/decrypt",
        "/v1/tokens/{label}/wrap",
        "/v1/tokens/{label}/unwrap",
        "/v1/tokens/{label}/derive",
      ]),
    );
    expect(Object.keys(doc.paths["/v1/tokens/{label}/objects"] ?? {}).sort()).toEqual(
      expect.arrayContaining(["get", "post"]),
    );
    const keys =
      doc.paths["/v1/tokens/{label}/keys"]?.post?.requestBody?.content["application/json"];
    expect(keys?.schema.additionalProperties).toBe(false);
  });
});

describe.skipIf(!available)("serve: errors, statuses and login isolation", () => {
  let token: TempToken;
  let server: ServeProcess;
  beforeAll(async () => {
    token = await tempToken({ label: "err", pin: USER_PIN });
    server = await startServe(token.env);
    return async () => {
      await server.stop();
      await token[Symbol.asyncDispose]();
    };
  });

  const keys = "/v1/tokens/err/keys";

  it("answers a wrong PIN 401, a right one after it works, and a later wrong one never reaches the token", async () => {
    const wrong = await http(server.target, "POST", keys, {
      body: { keyType: "ec:P-256", label: "a" },
      ...withPin(WRONG_PIN),
    });
    expectStatus(wrong, 401);
    expect(errorOf(wrong)).toMatchObject({
      code: "CKR_PIN_INCORRECT",
      exit: 4,
      kind: "auth",
      ckr: "CKR_PIN_INCORRECT",
    });
    // That one went to the token (nothing was logged in): SoftHSM counts it.
    expect(await tokenFlags(server, "err")).toContain("CKF_USER_PIN_COUNT_LOW");

    const right = await http(server.target, "POST", keys, {
      body: { keyType: "ec:P-256", label: "a" },
      ...withPin(),
    });
    expectStatus(right, 201);
    expect(await tokenFlags(server, "err")).not.toContain("CKF_USER_PIN_COUNT_LOW");

    // Logged in now: a wrong PIN must not ride on that login, and is refused without C_Login.
    for (let i = 0; i < 3; i++) {
      const again = await http(server.target, "POST", "/v1/tokens/err/sign", {
        body: { key: "a", dataBase64: "AAAA" },
        ...withPin(WRONG_PIN),
      });
      expectStatus(again, 401);
      expect(errorOf(again)).toMatchObject({ code: "CKR_PIN_INCORRECT", exit: 4 });
    }
    expect(await tokenFlags(server, "err")).not.toContain("CKF_USER_PIN_COUNT_LOW");
    const listing = await http(server.target, "GET", "/v1/tokens/err/objects", withPin(WRONG_PIN));
    expectStatus(listing, 401);

    const still = await http(server.target, "POST", "/v1/tokens/err/sign", {
      body: { key: "a", dataBase64: "AAAA" },
      ...withPin(),
    });
    expectStatus(still, 200);
  });

  it("answers a missing PIN 401 where a login is needed", async () => {
    const result = await http(server.target, "POST", keys, {
      body: { keyType: "ec:P-256", label: "b" },
    });
    expectStatus(result, 401);
    expect(errorOf(result)).toMatchObject({ code: "auth", exit: 4 });
    expect(errorOf(result).message).toContain("X-PKCS11-PIN");
  });

  it("refuses malformed and incomplete bodies and unknown fields with 400", async () => {
    const cases: [string, string, Parameters<typeof http>[3], string][] = [
      ["POST", keys, { rawBody: "{not json", ...withPin() }, ""],
      ["POST", keys, { body: { label: "x" }, ...withPin() }, "keyType"],
      [
        "POST",
        keys,
        { body: { keyType: "ec:P-256", label: "x", colour: "red" }, ...withPin() },
        '"colour"',
      ],
      ["POST", keys, { body: { keyType: "ec:P-256", label: 5 }, ...withPin() }, "label"],
      ["POST", keys, { body: { keyType: "rsa:100", label: "x" }, ...withPin() }, "rsa:100"],
      ["POST", keys, { body: { keyType: "ec:P-256", label: "x", id: "zz" }, ...withPin() }, "zz"],
      ["POST", "/v1/tokens/err/csr", { body: { subject: "/CN=a" }, ...withPin() }, '"key" or "id"'],
      ["POST", "/v1/tokens/err/csr", { body: { key: "a", subject: "CN" }, ...withPin() }, ""],
      [
        "POST",
        "/v1/tokens/err/objects",
        { body: { type: "cert", pem: "x", derBase64: "AA==" }, ...withPin() },
        "exactly one",
      ],
      [
        "POST",
        "/v1/tokens/err/objects",
        { body: { type: "cert", pem: "not a certificate" }, ...withPin() },
        "",
      ],
      [
        "POST",
        "/v1/tokens/err/sign",
        { body: { key: "a", dataBase64: "***" }, ...withPin() },
        "base64",
      ],
      [
        "POST",
        "/v1/tokens/err/sign",
        { body: { key: "a", dataBase64: "AA==", mechanism: "MD5" }, ...withPin() },
        "MD5",
      ],
      ["GET", "/v1/tokens/err/objects?type=spaceship", {}, "type"],
      ["GET", "/v1/slots?colour=red", {}, "colour"],
      ["POST", "/v1/tokens", { body: { label: "x" } }, "soPin"],
    ];
    for (const [method, path, options, words] of cases) {
      const result = await http(server.target, method, path, options);
      expect(result.status, `${method} ${path} ${JSON.stringify(options)}: ${result.text}`).toBe(
        400,
      );
      expect(errorOf(result)).toMatchObject({ code: "usage", exit: 2 });
      expect(errorOf(result).message).toContain(words);
    }
  });

  it("answers 404 for unknown tokens, keys and endpoints", async () => {
    const noToken = await http(server.target, "GET", "/v1/tokens/nope/objects");
    expectStatus(noToken, 404);
    expect(errorOf(noToken)).toMatchObject({ code: "not-found", exit: 3 });
    const noKey = await http(server.target, "POST", "/v1/tokens/err/sign", {
      body: { key: "missing", dataBase64: "AA==" },
      ...withPin(),
    });
    expectStatus(noKey, 404);
    const noRoute = await http(server.target, "GET", "/v2/whatever");
    expectStatus(noRoute, 404);
    expect(errorOf(noRoute)).toMatchObject({ code: "not-found", exit: 3, kind: "not-found" });
    expect(errorOf(noRoute)).not.toHaveProperty("ckr");
  });

  it("answers the framework's own refusals with the error object", async () => {
    const badEncoding = await http(server.target, "GET", "/v1/tokens/%FF%FE/objects");
    expectStatus(badEncoding, 400);
    expect(errorOf(badEncoding)).toMatchObject({ code: "usage", exit: 2, kind: "usage" });
    const hugeHeaders = await rawHttp(
      server.target,
      `GET /v1/slots HTTP/1.1\r\nHost: x\r\nX-Filler: ${"a".repeat(64 * 1024)}\r\n\r\n`,
    );
    expectStatus(hugeHeaders, 431);
    expect(errorOf(hugeHeaders)).toMatchObject({ code: "usage", exit: 2, kind: "usage" });
    const malformed = await rawHttp(server.target, "NOT HTTP AT ALL\r\n\r\n");
    expectStatus(malformed, 400);
    expect(errorOf(malformed)).toMatchObject({ code: "usage", exit: 2, kind: "usage" });
  });

  it("answers 409 for a key that exists and a token that is initialized", async () => {
    const first = await http(server.target, "POST", keys, {
      body: { keyType: "ec:P-256", label: "dup" },
      ...withPin(),
    });
    expectStatus(first, 201);
    const second = await http(server.target, "POST", keys, {
      body: { keyType: "ec:P-256", label: "dup" },
      ...withPin(),
    });
    expectStatus(second, 409);
    expect(errorOf(second)).toMatchObject({ code: "conflict", exit: 6 });
    const forced = await http(server.target, "POST", keys, {
      body: { keyType: "ec:P-256", label: "dup", force: true },
      ...withPin(),
    });
    expectStatus(forced, 201);

    const slots = (await http(server.target, "GET", "/v1/slots")).json as SlotJson[];
    const slot = slots.find((s) => s.token?.label === "err")?.slot;
    const reinit = await http(server.target, "POST", "/v1/tokens", {
      body: { slot, label: "err", soPin: SO_PIN },
    });
    expectStatus(reinit, 409);
    expect(errorOf(reinit)).toMatchObject({ code: "conflict", exit: 6 });
    // The refused re-initialization closed the sessions; the next request logs in again.
    const after = await http(server.target, "GET", "/v1/tokens/err/objects?label=dup", withPin());
    expectStatus(after, 200);
    expect((after.json as unknown[]).length).toBe(2);
  });

  it("answers 413 for a body over 1 MiB and takes one just under it", async () => {
    // A key of its own: the test runs alone too (-t 413).
    const key = await http(server.target, "POST", keys, {
      body: { keyType: "ec:P-256", label: "k413" },
      ...withPin(),
    });
    expectStatus(key, 201);
    const big = JSON.stringify({
      key: "k413",
      dataBase64: Buffer.alloc(1024 * 1024).toString("base64"),
    });
    const head = [
      "POST /v1/tokens/err/sign HTTP/1.1",
      "Host: 127.0.0.1",
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(big)}`,
      `X-PKCS11-PIN: ${USER_PIN}`,
    ];
    // The whole body is sent, and the answer read whatever happens to that write: the server
    // answers before the body is in (and reads the rest to drop it).
    const result = await rawHttp(server.target, `${head.join("\r\n")}\r\n\r\n${big}`);
    expectStatus(result, 413);
    expect(errorOf(result)).toMatchObject({ code: "usage", exit: 2, kind: "usage" });
    expect(errorOf(result).message).toContain("1048576");
    const fits = Buffer.alloc(700 * 1024).toString("base64");
    const ok = await http(server.target, "POST", "/v1/tokens/err/sign", {
      body: { key: "k413", dataBase64: fits },
      ...withPin(),
    });
    expectStatus(ok, 200);
  });
});

describe.skipIf(!available)("serve: listening rules and the bearer token", () => {
  let token: TempToken;
  beforeAll(async () => {
    token = await tempToken({ label: "auth", pin: USER_PIN });
    return () => token[Symbol.asyncDispose]();
  });

  it("refuses to listen beyond loopback without --auth-token-file (exit 2)", async () => {
    for (const address of ["0.0.0.0:0", "[::]:0"]) {
      const refused = await serveRefusal(token.env, ["--listen", address]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("--auth-token-file");
    }
    const conflicting = await serveRefusal(token.env, [
      "--listen",
      "127.0.0.1:0",
      "--socket",
      token.path("s"),
    ]);
    expect(conflicting.code).toBe(2);
    const badFile = await serveRefusal(token.env, ["--auth-token-file", token.path("missing")]);
    expect(badFile.code).toBe(2);
  });

  it("refuses an unparsable or absent --listen address with exit 2 and one line", async () => {
    await writeFile(token.path("listen-token"), "l1sten-6c1f0e\n");
    const withToken = ["--auth-token-file", token.path("listen-token")];
    const cases: [string[], string][] = [
      [["--listen", "[fe80::1%lo]:0"], "without --auth-token-file"],
      [["--listen", "[fe80::1%lo:0"], 'invalid --listen "[fe80::1%lo:0"'],
      [["--listen", "[fe80::1%]:0"], "is not an IPv6 address"],
      [["--listen", "bad host:0"], "is not a host name or address"],
      [["--listen", "::1:0"], "in brackets"],
      [["--listen", "[fe80::1%lo]:0", ...withToken], "no interface of this host has that address"],
    ];
    for (const [args, words] of cases) {
      const refused = await serveRefusal(token.env, args);
      expect(refused.code, `${args.join(" ")}: ${refused.stderr}`).toBe(2);
      expect(refused.stderr).toContain(words);
      expect(refused.stderr).not.toContain("unexpected error");
      expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it.skipIf(!ipv6Loopback())("listens on an IPv6 loopback address with a zone", async () => {
    const server = await startServe(token.env, ["--listen", "[::1%lo]:0"]);
    try {
      expect(server.target.host).toBe("::1");
      expectStatus(await http(server.target, "GET", "/healthz"), 200);
    } finally {
      await server.stop();
    }
  });

  it("needs the bearer token on every endpoint but /healthz", async () => {
    const secret = "b3arer-0a9c5e7f1d2b";
    await writeFile(token.path("token"), `${secret}\n`);
    const server = await startServe(token.env, [
      "--listen",
      "127.0.0.1:0",
      "--auth-token-file",
      token.path("token"),
    ]);
    try {
      const none = await http(server.target, "GET", "/v1/slots");
      expectStatus(none, 401);
      expect(errorOf(none)).toMatchObject({ code: "auth", exit: 4 });
      expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
      const wrong = await http(server.target, "GET", "/v1/slots", {
        headers: { authorization: "Bearer not-the-token" },
      });
      expectStatus(wrong, 401);
      const basic = await http(server.target, "GET", "/v1/slots", {
        headers: { authorization: `Basic ${secret}` },
      });
      expectStatus(basic, 401);
      const good = await http(server.target, "GET", "/v1/slots", {
        headers: { authorization: `Bearer ${secret}` },
      });
      expectStatus(good, 200);
      // The bearer check comes before the body is read: no token, no 413 either.
      const big = await http(server.target, "POST", "/v1/tokens/auth/keys", {
        body: { keyType: "ec:P-256", label: "x" },
        ...withPin(),
      });
      expectStatus(big, 401);
      expectStatus(await http(server.target, "GET", "/healthz"), 200);
      expect(server.stderr()).not.toContain(secret);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // With the token file, any address is allowed.
    const open = await startServe(token.env, [
      "--listen",
      "0.0.0.0:0",
      "--auth-token-file",
      token.path("token"),
    ]);
    expect(await open.stop()).toBe(0);
  });

  it("serves HTTPS with --tls-cert and --tls-key", async () => {
    const cert = token.path("tls.pem");
    const key = token.path("tls.key");
    await openssl(token, [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-days",
      "2",
    ]);
    const server = await startServe(
      token.env,
      ["--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key],
      await readFile(cert),
    );
    try {
      expect(server.address).toMatch(/^https:/);
      const result = await http(server.target, "GET", "/v1/slots");
      expectStatus(result, 200);
    } finally {
      await server.stop();
    }
    const half = await serveRefusal(token.env, ["--tls-cert", cert]);
    expect(half.code).toBe(2);
  });

  it("listens on a unix socket created with mode 0600, removed on exit", async () => {
    const path = token.path("tsp11.sock");
    const server = await startServe(token.env, ["--socket", path]);
    try {
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const result = await http(server.target, "GET", "/v1/tokens/auth/objects", withPin());
      expectStatus(result, 200);
      // A second server on the same live socket is refused.
      const second = await serveRefusal(token.env, ["--socket", path]);
      expect(second.code).toBe(6);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    await expect(stat(path)).rejects.toThrow();
  });
});

describe.skipIf(!available)("serve: concurrency, graceful stop and logs", () => {
  let token: TempToken;
  beforeAll(async () => {
    token = await tempToken({ label: "slow", pin: USER_PIN });
    return () => token[Symbol.asyncDispose]();
  });

  it("answers other requests while an RSA-4096 key is generated, and finishes it on SIGTERM", async () => {
    const server = await startServe(token.env);
    // A keep-alive client must not hold the stopping server open.
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    expectStatus(await http(server.target, "GET", "/healthz", { agent }), 200);
    const generation = http(server.target, "POST", "/v1/tokens/slow/keys", {
      body: { keyType: "rsa:4096", label: "big" },
      ...withPin(),
      agent,
    });
    const progress = { generated: false };
    void generation.then(() => (progress.generated = true));
    await new Promise((resolve) => setTimeout(resolve, 150));
    // The event loop is free: slots and health answer while the generation runs.
    const slotsStarted = Date.now();
    expectStatus(await http(server.target, "GET", "/v1/slots"), 200);
    expectStatus(await http(server.target, "GET", "/healthz"), 200);
    const slotsTook = Date.now() - slotsStarted;
    const stillGenerating = !progress.generated;

    const exit = server.stop("SIGTERM");
    const result = await generation;
    expectStatus(result, 201);
    expect(result.json).toMatchObject({ label: "big", bits: 4096 });
    // The server exits with the keep-alive connection still open on the client's side. (The
    // answer's Connection header depends on whether the generation ended before SIGTERM.)
    expect(await exit).toBe(0);
    agent.destroy();
    // New connections are refused once it stopped.
    await expect(http(server.target, "GET", "/healthz")).rejects.toThrow(/ECONNREFUSED/);
    if (stillGenerating) expect(slotsTook).toBeLessThan(1000);
    expect(server.stderr()).toContain("stopping");

    // The key is on the token, and the token was left in order (logged out, finalized).
    const oracle = await pkcs11Tool(token, ["-O", "--login", "--pin", USER_PIN]);
    expect(oracle.stdout).toMatch(/Private Key Object; RSA\s+label:\s+big/);
  });

  it("never logs a PIN, an SO PIN or a bearer token, even with -v", async () => {
    const store = await tempToken({ init: false });
    try {
      await writeFile(store.path("token"), "log-b3arer-61e0a4\n");
      const server = await startServe(store.env, [
        "-v",
        "--listen",
        "127.0.0.1:0",
        "--auth-token-file",
        store.path("token"),
      ]);
      const auth = { authorization: "Bearer log-b3arer-61e0a4" };
      const init = await http(server.target, "POST", "/v1/tokens", {
        body: { label: "logs", soPin: SOPIN, pin: USER_PIN },
        headers: auth,
      });
      expectStatus(init, 201);
      const wrong = await http(server.target, "POST", "/v1/tokens/logs/keys", {
        body: { keyType: "ec:P-256", label: "k" },
        headers: { ...auth, "x-pkcs11-pin": WRONG_PIN },
      });
      expectStatus(wrong, 401);
      const right = await http(server.target, "POST", "/v1/tokens/logs/keys", {
        body: { keyType: "ec:P-256", label: "k" },
        headers: { ...auth, "x-pkcs11-pin": USER_PIN },
      });
      expectStatus(right, 201);
      const again = await http(server.target, "GET", "/v1/tokens/logs/objects", {
        headers: { ...auth, "x-pkcs11-pin": WRONG_PIN },
      });
      expectStatus(again, 401);
      expect(await server.stop()).toBe(0);
      const log = server.stderr() + server.stdout();
      // The log is there (requests and, with -v, the PKCS#11 calls), only without secrets.
      expect(log).toContain("C_Login");
      expect(log).toContain("/v1/tokens/logs/keys");
      for (const secret of [USER_PIN, SOPIN, WRONG_PIN, "log-b3arer-61e0a4"]) {
        expect(log).not.toContain(secret);
      }
      expect(server.stdout()).toBe("");
    } finally {
      await store[Symbol.asyncDispose]();
    }
  });
});

describe.skipIf(!available)("serve: tokens initialized outside the server", () => {
  it("finds a token by label and re-initializes one with force", async () => {
    const token = await tempToken({ label: "first", pin: USER_PIN });
    try {
      await initToken(token, "second", USER_PIN);
      const server = await startServe(token.env);
      try {
        const slots = (await http(server.target, "GET", "/v1/slots")).json as SlotJson[];
        const second = slots.find((s) => s.token?.label === "second");
        expect(second).toBeDefined();
        // Logged in to "first", then "second" is re-initialized: every session is closed first.
        expectStatus(await http(server.target, "GET", "/v1/tokens/first/objects", withPin()), 200);
        const reinit = await http(server.target, "POST", "/v1/tokens", {
          body: { slot: second?.slot, label: "renamed", soPin: SO_PIN, pin: USER_PIN, force: true },
        });
        expectStatus(reinit, 201);
        expect(reinit.json).toMatchObject({ label: "renamed" });
        expectStatus(await http(server.target, "GET", "/v1/tokens/second/objects"), 404);
        const key = await http(server.target, "POST", "/v1/tokens/renamed/keys", {
          body: { keyType: "ec:P-256", label: "r" },
          ...withPin(),
        });
        expectStatus(key, 201);
        // "first" logs in again after the re-initialization closed its sessions.
        expectStatus(await http(server.target, "GET", "/v1/tokens/first/objects", withPin()), 200);
        expectStatus(
          await http(server.target, "GET", "/v1/tokens/first/objects", withPin(WRONG_PIN)),
          401,
        );
      } finally {
        await server.stop();
      }
    } finally {
      await token[Symbol.asyncDispose]();
    }
  });
});
