/**
 * serve at parity with the CLI: read-object, delete-object, edit-object, verify, cert and
 * change-pin over real HTTP against a real SoftHSM token, checked with the oracles
 * (pkcs11-tool's listing and export, openssl verify of the certificates issued).
 */
import { readFile, writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { canonicalSpki, objectListing, openssl, readObject } from "../helpers/pki.js";
import type { HttpResult, ServeProcess } from "../helpers/serve.js";
import { http, startServe } from "../helpers/serve.js";
import type { TempToken } from "../helpers/softhsm.js";
import { initToken, softhsmAvailable, SO_PIN, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

/** Distinctive, so finding one in the log cannot be a coincidence. */
const USER_PIN = "u-pin-4c1d9e7a";
const NEW_PIN = "n-pin-8b3f2a6c";
const RESET_PIN = "r-pin-2e7d5c9b";

interface ErrorJson {
  error: { code: string; exit: number; message: string; kind: string };
}

interface ObjectJson {
  class: string;
  label: string;
  id: string;
  uri: string;
}

const errorOf = (result: HttpResult): ErrorJson["error"] => (result.json as ErrorJson).error;

function withPin(pin: string = USER_PIN): { headers: Record<string, string> } {
  return { headers: { "x-pkcs11-pin": pin } };
}

function expectStatus(result: HttpResult, status: number): void {
  if (result.status !== status) {
    throw new Error(`expected HTTP ${status}, got ${result.status}: ${result.text}`);
  }
}

/** A path segment holding a URI, as a client sends it (every reserved character encoded). */
const segment = (uri: string): string => encodeURIComponent(uri);

describe.skipIf(!available)("serve: the CLI's other commands over HTTP", () => {
  let store: TempToken;
  let server: ServeProcess;
  const base = "/v1/tokens/parity";

  async function cli(args: string[]): Promise<string> {
    const result = await store.tsp11([...args, "-t", "parity", "--pin", USER_PIN]);
    if (result.code !== 0) throw new Error(`tsp11 ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  }

  async function listed(): Promise<ObjectJson[]> {
    const result = await http(server.target, "GET", `${base}/objects`, withPin());
    expectStatus(result, 200);
    return result.json as ObjectJson[];
  }

  beforeAll(async () => {
    store = await tempToken({ init: false });
    await initToken(store, "parity", USER_PIN);
    await cli(["keygen", "--key-type", "ec:prime256v1", "--label", "web", "--id", "01"]);
    await cli(["keygen", "--key-type", "ec:prime256v1", "--label", "gone", "--id", "02"]);
    await cli(["keygen", "--key-type", "rsa:2048", "--label", "ca-key", "--id", "0a"]);
    server = await startServe(store.env);
    return async () => {
      await server.stop();
      await store[Symbol.asyncDispose]();
    };
  });

  it("reads a public key by its percent-encoded URI or by id with ?type=, as pkcs11-tool exports it", async () => {
    const web = (await listed()).find((o) => o.class === "public-key" && o.label === "web");
    if (!web) throw new Error("no public key web");
    const oracle = canonicalSpki(
      await readObject(store, "pubkey", ["--id", "01"], store.path("web.spki")),
    );

    const byUri = await http(server.target, "GET", `${base}/objects/${segment(web.uri)}`);
    expectStatus(byUri, 200);
    const pem = (byUri.json as { pem: string }).pem;
    expect(canonicalSpki(Buffer.from(pem))).toEqual(oracle);
    expect(byUri.json).toMatchObject({ class: "public-key", id: "01", label: "web", uri: web.uri });

    const der = await http(server.target, "GET", `${base}/objects/01?type=pubkey&format=der`);
    expectStatus(der, 200);
    const bytes = Buffer.from((der.json as { valueBase64: string }).valueBase64, "base64");
    expect(canonicalSpki(bytes)).toEqual(oracle);
    expect(der.json).not.toHaveProperty("pem");

    // A private key's URI with ?type=pubkey reads its public half; without it, 400.
    const privateUri = segment("pkcs11:object=web;type=private");
    const half = await http(server.target, "GET", `${base}/objects/${privateUri}?type=pubkey`);
    expectStatus(half, 200);
    expect(canonicalSpki(Buffer.from((half.json as { pem: string }).pem))).toEqual(oracle);
    expectStatus(await http(server.target, "GET", `${base}/objects/${privateUri}`), 400);
  });

  it("refuses a read it cannot do: no type, another token's URI, a PIN in the URI, no match", async () => {
    const noType = await http(server.target, "GET", `${base}/objects/01`);
    expectStatus(noType, 400);
    expect(errorOf(noType).message).toContain("?type=");
    const other = segment("pkcs11:token=elsewhere;object=web;type=public");
    const elsewhere = await http(server.target, "GET", `${base}/objects/${other}`);
    expectStatus(elsewhere, 404);
    expect(errorOf(elsewhere)).toMatchObject({ kind: "not-found", exit: 3 });
    const withPinValue = segment(`pkcs11:object=web;type=public?pin-value=${USER_PIN}`);
    const refused = await http(server.target, "GET", `${base}/objects/${withPinValue}`);
    expectStatus(refused, 400);
    expect(refused.text).not.toContain(USER_PIN);
    expectStatus(await http(server.target, "GET", `${base}/objects/7f7f?type=cert`), 404);

    // A private data object: its value for the PIN's holder only, though the server's login
    // (made by the request with the PIN) shows it to every session.
    const written = await http(server.target, "POST", `${base}/objects`, {
      body: { type: "data", label: "notes", pem: "private notes", private: true },
      ...withPin(),
    });
    expectStatus(written, 201);
    const notes = segment("pkcs11:object=notes;type=data");
    const mine = await http(server.target, "GET", `${base}/objects/${notes}`, withPin());
    expectStatus(mine, 200);
    expect(mine.json).toMatchObject({
      class: "data",
      valueBase64: Buffer.from("private notes").toString("base64"),
    });
    const theirs = await http(server.target, "GET", `${base}/objects/${notes}`);
    expect([401, 404]).toContain(theirs.status);
    expect(theirs.text).not.toContain(Buffer.from("private notes").toString("base64"));
    expectStatus(await http(server.target, "GET", `${base}/objects/not-hex?type=cert`), 400);
  });

  it("deletes exactly what a type=public URI names: the private key stays (pkcs11-tool -O)", async () => {
    const before = await objectListing(store, USER_PIN);
    expect(before.match(/label:\s+gone/g)).toHaveLength(2);

    // A class alone names nothing to delete; a conflicting ?type= is refused: nothing changes.
    const unnamed = await http(
      server.target,
      "DELETE",
      `${base}/objects?uri=${segment("pkcs11:type=public")}`,
      withPin(),
    );
    expectStatus(unnamed, 400);
    const conflict = await http(
      server.target,
      "DELETE",
      `${base}/objects?type=cert&uri=${segment("pkcs11:object=gone;type=public")}`,
      withPin(),
    );
    expectStatus(conflict, 400);
    expectStatus(
      await http(server.target, "DELETE", `${base}/objects?label=gone&type=pubkey`),
      401,
    );
    expect(await objectListing(store, USER_PIN)).toBe(before);

    const deleted = await http(
      server.target,
      "DELETE",
      `${base}/objects?uri=${segment("pkcs11:object=gone;type=public")}`,
      withPin(),
    );
    expectStatus(deleted, 200);
    expect((deleted.json as ObjectJson[]).map((o) => [o.class, o.label])).toEqual([
      ["public-key", "gone"],
    ]);
    const after = await objectListing(store, USER_PIN);
    expect(after).toMatch(/Private Key Object; EC\s+label:\s+gone/);
    expect(after).not.toMatch(/Public Key Object; EC[^\n]*\s+label:\s+gone/);
    expect(after.match(/label:\s+web/g)).toHaveLength(2);

    const again = await http(
      server.target,
      "DELETE",
      `${base}/objects?uri=${segment("pkcs11:object=gone;type=public")}`,
      withPin(),
    );
    expectStatus(again, 404);

    // By id: the rest of that pair goes, nothing else.
    const byId = await http(server.target, "DELETE", `${base}/objects?id=02`, withPin());
    expectStatus(byId, 200);
    expect((byId.json as ObjectJson[]).map((o) => o.class)).toEqual(["private-key"]);
    expect(await objectListing(store, USER_PIN)).not.toContain("gone");
  });

  it("verifies a signature made by the CLI: 200 valid true, and 200 valid false when it does not match", async () => {
    const dataFile = store.path("data.txt");
    await writeFile(dataFile, "parity data\n");
    await cli(["sign", "--id", "01", "--input", dataFile, "--output", store.path("data.sig")]);
    const signature = (await readFile(store.path("data.sig"))).toString("base64");
    const body = (data: string) => ({
      id: "01",
      dataBase64: Buffer.from(data).toString("base64"),
      signatureBase64: signature,
    });
    const good = await http(server.target, "POST", `${base}/verify`, {
      body: body("parity data\n"),
    });
    expectStatus(good, 200);
    expect(good.json).toEqual({ valid: true, mechanism: "ECDSA-SHA256" });
    const bad = await http(server.target, "POST", `${base}/verify`, {
      body: body("parity data, changed\n"),
    });
    expectStatus(bad, 200);
    expect(bad.json).toEqual({ valid: false, mechanism: "ECDSA-SHA256" });
    const noKey = await http(server.target, "POST", `${base}/verify`, {
      body: { ...body("x"), id: "7f" },
    });
    expectStatus(noKey, 404);
    const noSignature = await http(server.target, "POST", `${base}/verify`, {
      body: { id: "01", dataBase64: "eA==" },
    });
    expectStatus(noSignature, 400);
  });

  it("makes a self-signed CA and issues a certificate for a CSR; openssl verify accepts the chain", async () => {
    const ca = await http(server.target, "POST", `${base}/cert`, {
      body: { key: "ca-key", subject: "/CN=Parity CA", ca: true, days: 30, import: true },
      ...withPin(),
    });
    expectStatus(ca, 200);
    const caJson = ca.json as { pem: string; subject: string; issuer: string; keyId: string };
    expect(caJson).toMatchObject({ subject: "CN=Parity CA", issuer: "CN=Parity CA", keyId: "0a" });
    const caFile = store.path("ca.pem");
    await writeFile(caFile, caJson.pem);
    // import: the certificate is on the token beside its key.
    expect(await objectListing(store, USER_PIN)).toMatch(
      /Certificate Object; type = X\.509 cert\s+label:\s+ca-key/,
    );

    const keyFile = store.path("leaf.key");
    const csrFile = store.path("leaf.csr");
    await openssl(store, [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      keyFile,
    ]);
    await openssl(store, [
      "req",
      "-new",
      "-key",
      keyFile,
      "-subj",
      "/CN=leaf.example",
      "-addext",
      "subjectAltName=DNS:leaf.example",
      "-out",
      csrFile,
    ]);
    const leaf = await http(server.target, "POST", `${base}/cert`, {
      body: {
        id: "0a",
        csr: await readFile(csrFile, "utf8"),
        issuerCert: caJson.pem,
        days: 7,
        setSerial: "0102",
      },
      ...withPin(),
    });
    expectStatus(leaf, 200);
    expect(leaf.json).toMatchObject({
      subject: "CN=leaf.example",
      issuer: "CN=Parity CA",
      serial: "0102",
    });
    const leafFile = store.path("leaf.pem");
    await writeFile(leafFile, (leaf.json as { pem: string }).pem);
    const verified = await openssl(store, ["verify", "-CAfile", caFile, leafFile]);
    expect(verified.stdout).toContain(": OK");
    const text = await openssl(store, [
      "x509",
      "-in",
      leafFile,
      "-noout",
      "-ext",
      "subjectAltName",
    ]);
    expect(text.stdout).toContain("DNS:leaf.example");

    // A request with a subject too, or no PIN: refused before anything is signed.
    const both = await http(server.target, "POST", `${base}/cert`, {
      body: {
        id: "0a",
        csr: await readFile(csrFile, "utf8"),
        issuerCert: caJson.pem,
        subject: "/CN=x",
      },
      ...withPin(),
    });
    expectStatus(both, 400);
    expectStatus(
      await http(server.target, "POST", `${base}/cert`, { body: { id: "0a", subject: "/CN=x" } }),
      401,
    );
  });

  it("edits a label through PATCH with a URI; pkcs11-tool sees the new label", async () => {
    const edited = await http(
      server.target,
      "PATCH",
      `${base}/objects?uri=${segment("pkcs11:object=ca-key;type=cert")}`,
      { body: { setLabel: "parity-ca" }, ...withPin() },
    );
    expectStatus(edited, 200);
    expect((edited.json as ObjectJson[]).map((o) => [o.class, o.label])).toEqual([
      ["certificate", "parity-ca"],
    ]);
    const listing = await objectListing(store, USER_PIN);
    expect(listing).toMatch(/Certificate Object; type = X\.509 cert\s+label:\s+parity-ca/);
    expect(listing).toMatch(/Private Key Object; RSA\s+label:\s+ca-key/);
    const empty = await http(server.target, "PATCH", `${base}/objects?id=0a`, {
      body: {},
      ...withPin(),
    });
    expectStatus(empty, 400);
  });

  it("changes the user PIN, resets it as SO, and never logs a PIN", async () => {
    const changed = await http(server.target, "POST", `${base}/pin`, {
      body: { newPin: NEW_PIN },
      ...withPin(),
    });
    expectStatus(changed, 200);
    expect(changed.json).toMatchObject({ label: "parity", pin: "user", action: "changed" });
    // The old PIN no longer works, the new one does (here and for pkcs11-tool).
    expectStatus(await http(server.target, "GET", `${base}/objects`, withPin()), 401);
    expectStatus(await http(server.target, "GET", `${base}/objects`, withPin(NEW_PIN)), 200);
    expect(await objectListing(store, NEW_PIN)).toContain("ca-key");

    const wrongSo = await http(server.target, "POST", `${base}/pin`, {
      body: { soPin: "not-the-so-pin", newPin: RESET_PIN },
    });
    expectStatus(wrongSo, 401);
    const reset = await http(server.target, "POST", `${base}/pin`, {
      body: { soPin: SO_PIN, newPin: RESET_PIN },
    });
    expectStatus(reset, 200);
    expect(reset.json).toMatchObject({ pin: "user", action: "reset" });
    expectStatus(await http(server.target, "GET", `${base}/objects`, withPin(RESET_PIN)), 200);
    expect(await objectListing(store, RESET_PIN)).toContain("ca-key");

    const noPin = await http(server.target, "POST", `${base}/pin`, { body: { newPin: "x1234" } });
    expectStatus(noPin, 401);
    const soWithout = await http(server.target, "POST", `${base}/pin`, {
      body: { newPin: "x1234", so: true },
      ...withPin(RESET_PIN),
    });
    expectStatus(soWithout, 400);

    const log = server.stderr();
    for (const secret of [USER_PIN, NEW_PIN, RESET_PIN]) expect(log).not.toContain(secret);
  });

  it("lists the new endpoints in /openapi.json", async () => {
    const document = (await http(server.target, "GET", "/openapi.json")).json as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => `${method} ${path} ${op.operationId}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        "get /v1/tokens/{label}/objects/{object} readObject",
        "delete /v1/tokens/{label}/objects deleteObjects",
        "patch /v1/tokens/{label}/objects editObjects",
        "post /v1/tokens/{label}/verify verify",
        "post /v1/tokens/{label}/cert createCertificate",
        "post /v1/tokens/{label}/pin changePin",
      ]),
    );
  });
});
