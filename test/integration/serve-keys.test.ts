/**
 * serve's POST .../keys with keygen's further key types and attribute flags, over real HTTP
 * on a SoftHSM token; an always-auth key signs through serve with the request's PIN.
 * Oracles: pkcs11-tool lists the attributes, openssl verifies the signature.
 */
import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpResult, ServeProcess } from "../helpers/serve.js";
import { http, startServe } from "../helpers/serve.js";
import type { TempToken } from "../helpers/softhsm.js";
import { softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();
/** A PIN that cannot turn up in base64 or hex by chance, so "never logged" means something. */
const PIN = "Srv-keys-pin-5521";

describe.skipIf(!available)("serve: POST .../keys with more types and flags", () => {
  let token: TempToken;
  let server: ServeProcess;
  const withPin = { headers: { "X-PKCS11-PIN": PIN } };
  const post = (path: string, body: unknown): Promise<HttpResult> =>
    http(server.target, "POST", `/v1/tokens/keys${path}`, { body, ...withPin });

  beforeAll(async () => {
    token = await tempToken({ label: "keys", pin: PIN });
    server = await startServe(token.env);
  });

  afterAll(async () => {
    await server.stop();
    await token[Symbol.asyncDispose]();
  });

  it.each([
    ["ec:secp256k1", { keyType: "ec", curve: "secp256k1", usage: ["sign"] }],
    ["ec:brainpoolP256r1", { keyType: "ec", curve: "brainpoolP256r1" }],
    ["ed448", { keyType: "ec-edwards", curve: "ed448" }],
    ["hmac:256", { keyType: "generic-secret", bits: 256, usage: ["sign", "verify"] }],
    ["des3", { keyType: "des3", usage: ["encrypt", "decrypt"] }],
  ])("%s", async (keyType, expected) => {
    const made = await post("/keys", { keyType, label: `k-${keyType}` });
    expect(made.status, made.text).toBe(201);
    expect(made.json).toMatchObject({ label: `k-${keyType}`, ...expected });
  });

  it("takes keygen's flags; the always-auth key signs with the request's PIN", async () => {
    const made = await post("/keys", {
      keyType: "ec:prime256v1",
      label: "aa",
      id: "0a",
      usage: ["sign", "sign-recover"],
      alwaysAuthenticate: true,
      allowedMechanisms: ["ECDSA", "ECDSA-SHA256"],
      destroyable: false,
      modifiable: false,
    });
    expect(made.status, made.text).toBe(201);
    const key = made.json as { usage: string[]; publicKeyPem: string };
    expect(key.usage).toEqual(["sign", "sign-recover"]);
    const oracle = await token.pkcs11Tool(["-O", "--login", "--pin", PIN, "--id", "0a"]);
    expect(oracle.stdout).toContain("always authenticate");
    expect(oracle.stdout).toContain("Allowed mechanisms: ECDSA,ECDSA-SHA256");
    const listed = await http(server.target, "GET", "/v1/tokens/keys/objects", withPin);
    expect(listed.status, listed.text).toBe(200);
    expect(
      (listed.json as { class: string; label: string }[]).find(
        (o) => o.class === "private-key" && o.label === "aa",
      ),
    ).toMatchObject({
      alwaysAuthenticate: true,
      allowedMechanisms: ["ECDSA", "ECDSA-SHA256"],
      usage: ["sign", "sign-recover"],
    });

    const data = Buffer.from("signed through serve\n");
    for (let i = 0; i < 2; i++) {
      // Twice: the second request finds the login in force and still logs in for the key.
      const signed = await post("/sign", { key: "aa", dataBase64: data.toString("base64") });
      expect(signed.status, signed.text).toBe(200);
      const signature = Buffer.from(
        (signed.json as { signatureBase64: string }).signatureBase64,
        "base64",
      );
      await writeFile(token.path("data"), data);
      await writeFile(token.path("data.sig"), signature);
      await writeFile(token.path("aa.pem"), key.publicKeyPem);
      const verified = await token.exec("openssl", [
        ...["dgst", "-sha256", "-verify", token.path("aa.pem")],
        ...["-signature", token.path("data.sig"), token.path("data")],
      ]);
      expect(verified.stdout).toContain("Verified OK");
    }

    // The key outlives a delete attempt by another program: CKA_DESTROYABLE false.
    const kept = await token.tsp11([
      ...["delete-object", "--id", "0a", "--type", "privkey", "--yes", "--pin", PIN],
    ]);
    expect(kept.code).toBe(1);
    expect(server.stderr()).not.toContain(PIN);
    expect(server.stdout()).not.toContain(PIN);
  });

  it("sensitive: false makes a key that is not sensitive", async () => {
    const made = await post("/keys", {
      keyType: "aes:128",
      label: "loose",
      sensitive: false,
      extractable: true,
    });
    expect(made.status, made.text).toBe(201);
    const listed = await http(server.target, "GET", "/v1/tokens/keys/objects", withPin);
    expect((listed.json as { label: string }[]).find((o) => o.label === "loose")).toMatchObject({
      sensitive: false,
      extractable: true,
    });
  });

  it.each([
    [{ allowedMechanisms: ["NO-SUCH-MECH"] }, /unknown mechanism "NO-SUCH-MECH"/],
    [{ usage: ["sign", "fly"] }, /usage/],
    [{ alwaysAuthenticate: "yes" }, /alwaysAuthenticate/],
  ])("refuses %j with 400", async (extra, message) => {
    const refused = await post("/keys", { keyType: "ec:prime256v1", label: "bad", ...extra });
    expect(refused.status).toBe(400);
    expect((refused.json as { error: { message: string } }).error.message).toMatch(message);
  });
});
