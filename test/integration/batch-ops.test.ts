/**
 * batch's ops beyond keygen/req/write-object/list-objects, list-slots, sign: each one's result line against the
 * one-shot CLI's --json for the same operation, and oracles (openssl, node's ECDH) where cheap.
 */
import { createPublicKey, diffieHellman, generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import type { BatchLine } from "../helpers/batch.js";
import { liveBatch, op, parseLines } from "../helpers/batch.js";
import { objectListing, openssl } from "../helpers/pki.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();
const DATA = Buffer.from("batch ops data\n");
const IV = "000102030405060708090a0b";

interface ObjectJson {
  class: string;
  label: string;
  id: string;
  uri: string;
}

async function batch(token: TempToken, input: string, args: string[] = []) {
  const result = await token.tsp11(["batch", "--pin", PIN, ...args], { input });
  return { ...result, lines: parseLines(result.stdout) };
}

async function oneShot(
  token: TempToken,
  args: string[],
  input?: string | Buffer,
): Promise<unknown> {
  const result = await token.tsp11([...args, "--pin", PIN, "--json"], { input });
  if (result.code !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function resultsOf(run: { code: number; stderr: string; lines: BatchLine[] }): unknown[] {
  if (run.code !== 0) throw new Error(`batch failed (${run.code}): ${JSON.stringify(run.lines)}`);
  return run.lines.map((line) => line.result);
}

/** A result's JSON without some fields (what names one key, what depends on the time). */
function without(result: unknown, names: string[]): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(result as Record<string, unknown>).filter(([name]) => !names.includes(name)),
  );
}

/** A created key's JSON without what names this one key (to compare two of a kind). */
const shapeOf = (result: unknown) => without(result, ["label", "id", "uri"]);

describe.skipIf(!available)("tsp11 batch: every op serve has", () => {
  let token: TempToken;
  beforeAll(async () => {
    token = await tempToken();
    const keygen = async (args: string[]) => oneShot(token, ["keygen", ...args]);
    await keygen(["--key-type", "ec:prime256v1", "--label", "ec-1", "--id", "01"]);
    await keygen(["--key-type", "rsa:2048", "--label", "rsa-1", "--id", "02"]);
    await keygen(["--key-type", "aes:256", "--label", "aes-1", "--id", "03"]);
    await keygen([
      "--key-type",
      "aes:256",
      "--label",
      "kek",
      "--id",
      "04",
      "--usage",
      "wrap,unwrap",
    ]);
    await keygen(["--key-type", "aes:128", "--label", "export-me", "--id", "05", "--extractable"]);
    await keygen([
      "--key-type",
      "ec:prime256v1",
      "--label",
      "ecdh-1",
      "--id",
      "06",
      "--usage",
      "derive",
    ]);
    await keygen(["--key-type", "ec:prime256v1", "--label", "gone", "--id", "07"]);
    return async () => {
      await token[Symbol.asyncDispose]();
    };
  });

  it("read-object, encrypt, decrypt and wrap: the one-shot --json of the same operation", async () => {
    const encrypted = (await oneShot(
      token,
      ["encrypt", "--id", "03", "--iv", IV, "-m", "AES-GCM"],
      DATA,
    )) as { ciphertextBase64: string };
    const run = await batch(
      token,
      op("read-object", { object: "01", type: "pubkey" }) +
        op("read-object", { object: "pkcs11:object=ec-1;type=public", format: "der" }) +
        op("encrypt", {
          id: "03",
          iv: IV,
          mechanism: "AES-GCM",
          dataBase64: DATA.toString("base64"),
        }) +
        op("decrypt", { key: "aes-1", dataBase64: encrypted.ciphertextBase64 }) +
        op("wrap", { wrappingKey: "kek", key: "export-me" }),
    );
    const [pem, der, encrypt, decrypt, wrap] = resultsOf(run);
    expect(run.stderr).toBe("");
    expect(pem).toEqual(await oneShot(token, ["read-object", "--id", "01", "--type", "pubkey"]));
    // format der: the DER in valueBase64, the bytes the one-shot --der writes, and the JSON
    // the one-shot --der --json prints.
    const derArgs = ["read-object", "--id", "01", "--type", "pubkey", "--der"];
    const derOut = await token.tsp11(derArgs);
    expect(der).toEqual({
      ...(pem as Record<string, unknown>),
      pem: undefined,
      valueBase64: derOut.stdoutBytes.toString("base64"),
    });
    expect(der).toEqual(await oneShot(token, derArgs));
    // AES-GCM with a given IV is deterministic: the same bytes as the one-shot's.
    expect(encrypt).toEqual(encrypted);
    expect(decrypt).toEqual(
      await oneShot(
        token,
        ["decrypt", "-k", "aes-1"],
        Buffer.from(encrypted.ciphertextBase64, "base64"),
      ),
    );
    expect((decrypt as { plaintextBase64: string }).plaintextBase64).toBe(DATA.toString("base64"));
    // AES key wrap (RFC 5649) is deterministic too.
    expect(wrap).toEqual(
      await oneShot(token, ["wrap", "--wrapping-key", "kek", "-k", "export-me"]),
    );
  });

  it("verify checks what sign made in the same batch; a changed message is valid false", async () => {
    const live = liveBatch(token, ["--pin", PIN]);
    live.child.stdin.write(op("sign", { id: "01", dataBase64: DATA.toString("base64") }));
    const signed = await live.next();
    const { signatureBase64 } = signed.result as { signatureBase64: string };
    const verify = (data: Buffer) =>
      op("verify", { key: "ec-1", dataBase64: data.toString("base64"), signatureBase64 });
    live.child.stdin.write(verify(DATA));
    live.child.stdin.write(verify(Buffer.from("another message\n")));
    live.child.stdin.end();
    const good = await live.next();
    const bad = await live.next();
    expect(await live.exited).toBe(0);
    expect(good).toEqual({ ok: true, result: { valid: true, mechanism: "ECDSA-SHA256" } });
    // As serve: a mismatch is an answer (the one-shot says it with exit 7 and the same JSON).
    expect(bad).toEqual({ ok: true, result: { valid: false, mechanism: "ECDSA-SHA256" } });
    const signature = token.path("batch.sig");
    await writeFile(signature, Buffer.from(signatureBase64, "base64"));
    expect(good.result).toEqual(
      await oneShot(token, ["verify", "-k", "ec-1", "--signature", signature], DATA),
    );
  });

  it("cert: a self-signed CA that openssl verifies, imported beside its key; fields as the one-shot's", async () => {
    const run = await batch(
      token,
      op("cert", {
        key: "rsa-1",
        subject: "/CN=Batch CA",
        ca: true,
        days: 30,
        setSerial: "0b",
        import: true,
      }) + op("read-object", { object: "pkcs11:object=rsa-1;type=cert" }),
    );
    const [made, read] = resultsOf(run) as [Record<string, unknown>, { pem: string }];
    expect(made).toMatchObject({
      subject: "CN=Batch CA",
      issuer: "CN=Batch CA",
      serial: "0b",
      keyId: "02",
    });
    const caFile = token.path("batch-ca.pem");
    await writeFile(caFile, made.pem as string);
    expect((await openssl(token, ["verify", "-CAfile", caFile, caFile])).stdout).toContain(": OK");
    // import: the very certificate is on the token now.
    expect(read.pem).toBe(made.pem);
    const single = (await oneShot(token, [
      "cert",
      "-k",
      "rsa-1",
      "-d",
      "/CN=Batch CA",
      "--ca",
      "--days",
      "30",
      "--set-serial",
      "0b",
    ])) as Record<string, unknown>;
    expect(Object.keys(made).sort()).toEqual(Object.keys(single).sort());
    const stable = (json: unknown) => without(json, ["pem", "notBefore", "notAfter"]);
    expect(stable(made)).toEqual(stable(single));
  });

  it("unwrap and derive create keys as the one-shots do; the derived secret is node's ECDH", async () => {
    const wrapped = (await oneShot(token, ["wrap", "--wrapping-id", "04", "--id", "05"])) as {
      wrappedBase64: string;
    };
    const peer = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const peerPem = peer.publicKey.export({ type: "spki", format: "pem" }).toString();
    const run = await batch(
      token,
      op("unwrap", {
        wrappingId: "04",
        wrappedBase64: wrapped.wrappedBase64,
        keyType: "aes",
        label: "unwrapped",
        id: "15",
        extractable: true,
      }) +
        op("derive", {
          key: "ecdh-1",
          peerPem,
          keyType: "aes:256",
          label: "derived",
          id: "16",
          sensitive: false,
          extractable: true,
        }) +
        op("read-object", { object: "16", type: "secret", format: "der" }) +
        op("read-object", { object: "06", type: "pubkey" }) +
        op("wrap", { wrappingId: "04", id: "15" }),
    );
    const [unwrapped, derived, secret, ecdhPublic, rewrapped] = resultsOf(run) as Record<
      string,
      unknown
    >[];
    expect(unwrapped).toMatchObject({ label: "unwrapped", id: "15" });
    expect(derived).toMatchObject({ label: "derived", id: "16" });
    // The unwrapped key is the wrapped one: wrapped again under the same key, the same bytes.
    expect(rewrapped?.wrappedBase64).toBe(wrapped.wrappedBase64);
    const expected = diffieHellman({
      privateKey: peer.privateKey,
      publicKey: createPublicKey((ecdhPublic as { pem: string }).pem),
    });
    expect(secret?.valueBase64).toBe(expected.toString("base64"));

    const wrappedFile = token.path("wrapped.bin");
    await writeFile(wrappedFile, Buffer.from(wrapped.wrappedBase64, "base64"));
    const peerFile = token.path("peer.pem");
    await writeFile(peerFile, peerPem);
    const unwrapOne = await oneShot(token, [
      "unwrap",
      "--wrapping-id",
      "04",
      "--input",
      wrappedFile,
      "--key-type",
      "aes",
      "--label",
      "unwrapped-2",
      "--id",
      "25",
      "--extractable",
    ]);
    const deriveOne = await oneShot(token, [
      "derive",
      "-k",
      "ecdh-1",
      "--peer",
      peerFile,
      "--key-type",
      "aes:256",
      "--label",
      "derived-2",
      "--id",
      "26",
      "--no-sensitive",
      "--extractable",
    ]);
    expect(shapeOf(unwrapped)).toEqual(shapeOf(unwrapOne));
    expect(shapeOf(derived)).toEqual(shapeOf(deriveOne));
  });

  it("edit-object and delete-object by exact URI: only what it names changes", async () => {
    const listed = (await oneShot(token, ["list-objects", "--label", "gone"])) as ObjectJson[];
    const run = await batch(
      token,
      op("delete-object", { uri: "pkcs11:object=gone;type=public" }) +
        op("edit-object", { uri: "pkcs11:object=gone;type=private", setLabel: "going" }),
    );
    const [deleted, edited] = resultsOf(run) as [ObjectJson[], ObjectJson[]];
    // As the one-shot's JSON: the objects as list-objects shows them.
    expect(deleted).toEqual(listed.filter((o) => o.class === "public-key"));
    expect(edited.map((o) => [o.class, o.label, o.id])).toEqual([["private-key", "going", "07"]]);
    expect(deleted.map((o) => [o.class, o.label, o.id])).toEqual([["public-key", "gone", "07"]]);
    expect(edited).toEqual(await oneShot(token, ["list-objects", "--label", "going"]));
    const listing = await objectListing(token, PIN);
    expect(listing).toMatch(/Private Key Object; EC\s+label:\s+going/);
    expect(listing).not.toMatch(/label:\s+gone/);
    expect(listing.match(/label:\s+ec-1/g)).toHaveLength(2);
    // The one-shot's delete of the edited key answers with what the batch's edit did.
    const single = (await oneShot(token, [
      "delete-object",
      "--uri",
      "pkcs11:object=going;type=private",
      "--yes",
    ])) as ObjectJson[];
    expect(single).toEqual(edited);
  });

  it("a bad line mid-batch is an exit-2 result; with --continue-on-error the later lines run", async () => {
    const before = await objectListing(token, PIN);
    const input = [
      op("read-object", { object: "01", type: "pubkey" }),
      op("read-object", { object: "not-hex", type: "pubkey" }),
      op("delete-object", { uri: "pkcs11:type=public" }),
      op("edit-object", { id: "01" }),
      op("verify", { id: "01", dataBase64: "eA==" }),
      op("change-pin", { newPin: "98765" }),
      op("random", { bytes: 16 }),
      op("read-object", { object: "7f7f", type: "cert" }),
      op("read-object", { object: "pkcs11:object=ec-1;type=public?pin-value=24680" }),
      op("delete-object", { uri: "pkcs11:token=elsewhere;object=ec-1;type=public" }),
      op("encrypt", { id: "03", dataBase64: DATA.toString("base64") }),
    ].join("");
    const run = await batch(token, input, ["--continue-on-error"]);
    expect(run.code).toBe(3);
    const summary = run.lines.map((line) => (line.ok ? 0 : line.error?.exit));
    expect(summary).toEqual([0, 2, 2, 2, 2, 2, 2, 3, 2, 3, 0]);
    const messages = run.lines.map((line) => line.error?.message ?? "");
    expect(messages[3]).toMatch(/^batch: line 4: args needs "setLabel" or "setId" or "setUsage"/);
    expect(messages[4]).toBe("batch: line 5: args must have required property 'signatureBase64'");
    expect(messages[5]).toMatch(
      /^batch: line 6: op "change-pin" is not run in batch: PINs do not belong in an NDJSON stream \(one of keygen, .*derive\)$/,
    );
    expect(messages[6]).toMatch(/^batch: line 7: unknown op "random" \(one of keygen, /);
    expect(messages[8]).toMatch(/pin-value and pin-source have no place here/);
    expect(messages[9]).toMatch(/the URI does not select token "test"/);
    expect(run.stdout).not.toContain("98765");
    expect(run.stdout).not.toContain("24680");
    // Nothing changed on the token.
    expect(await objectListing(token, PIN)).toBe(before);
  });
});
