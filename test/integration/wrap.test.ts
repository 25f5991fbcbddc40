/**
 * `tsp11 wrap` / `unwrap` across two SoftHSM tokens of one store: RSA and EC keys made
 * extractable on token A, wrapped under a transport AES key present on both (imported from
 * the same bytes with pkcs11-tool), unwrapped on B with their public halves, signing on B
 * with signatures openssl verifies with A's public keys. Refusals name the attribute.
 */
import { writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import { initToken, PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

describe.skipIf(!available)("wrap and unwrap between two tokens", () => {
  let store: TempToken;
  const on = (label: string, args: string[]) => store.tsp11(["-t", label, "--pin", PIN, ...args]);

  async function ok(label: string, args: string[]) {
    const result = await on(label, args);
    if (result.code !== 0) throw new Error(`tsp11 ${args.join(" ")}: ${result.stderr}`);
    return result;
  }

  beforeAll(async () => {
    store = await tempToken({ label: "A" });
    await initToken(store, "B");
    await writeFile(store.path("transport.key"), randomBytes(32));
    for (const label of ["A", "B"]) {
      const result = await store.exec("pkcs11-tool", [
        "--module",
        "/usr/lib/softhsm/libsofthsm2.so",
        "--token-label",
        label,
        "-l",
        "-p",
        PIN,
        "--write-object",
        store.path("transport.key"),
        "--type",
        "secrkey",
        "--key-type",
        "AES:32",
        "--label",
        "transport",
        "--id",
        "7f",
        "--usage-wrap",
      ]);
      if (result.code !== 0) throw new Error(result.stderr);
    }
    await ok("A", [
      "keygen",
      "--key-type",
      "rsa:2048",
      "--label",
      "rsa1",
      "--id",
      "01",
      "--extractable",
    ]);
    await ok("A", [
      "keygen",
      "--key-type",
      "ec:secp384r1",
      "--label",
      "ec1",
      "--id",
      "02",
      "--extractable",
    ]);
    await ok("A", ["keygen", "--key-type", "ec:prime256v1", "--label", "kept", "--id", "03"]);
    await writeFile(store.path("data.txt"), "moved between tokens\n");
  });

  afterAll(async () => {
    await store[Symbol.asyncDispose]();
  });

  for (const [label, keyType, mechanism] of [
    ["rsa1", "rsa", "AES-KEY-WRAP-PAD"],
    ["ec1", "ec", "AES-KEY-WRAP"],
  ] as const) {
    it(`${label}: wrapped on A with ${mechanism}, unwrapped on B, signs there as A's key`, async () => {
      const pub = store.path(`${label}.pub`);
      await ok("A", ["read-object", "--type", "pubkey", "--label", label, "-o", pub]);
      const wrapped = store.path(`${label}.wrapped`);
      const wrap = await ok("A", [
        "wrap",
        "--wrapping-key",
        "transport",
        "-i",
        label,
        "-m",
        mechanism,
        "--output",
        wrapped,
        "--json",
      ]);
      expect(JSON.parse(wrap.stdout)).toMatchObject({ mechanism, keyLabel: label, keyType });
      const unwrap = await ok("B", [
        "unwrap",
        "--wrapping-key",
        "transport",
        "-f",
        wrapped,
        "-m",
        mechanism,
        "--key-type",
        keyType,
        "--label",
        label,
        "--public-key",
        pub,
        "--json",
      ]);
      expect(JSON.parse(unwrap.stdout)).toMatchObject({
        keyClass: "private-key",
        keyType,
        publicKey: true,
      });
      const sig = store.path(`${label}.sig`);
      await ok("B", ["sign", "-i", label, "--input", store.path("data.txt"), "--output", sig]);
      const verified = await store.exec("openssl", [
        "dgst",
        "-sha256",
        "-verify",
        pub,
        "-signature",
        sig,
        store.path("data.txt"),
      ]);
      expect(verified.stdout).toContain("Verified OK");
      // The pair is complete on B: the public key object has the private key's id.
      const listing = await ok("B", ["list-objects", "--label", label, "--json"]);
      const objects = JSON.parse(listing.stdout) as { class: string; id: string }[];
      expect(objects.map((object) => object.class).sort()).toEqual(["private-key", "public-key"]);
      expect(new Set(objects.map((object) => object.id)).size).toBe(1);
    });
  }

  it("refusals name the attribute or the mechanisms offered (exit 2)", async () => {
    const kept = await on("A", ["wrap", "--wrapping-key", "transport", "-i", "kept"]);
    expect(kept.code).toBe(2);
    expect(kept.stderr).toContain("CKA_EXTRACTABLE false");
    const noWrap = await on("A", ["wrap", "--wrapping-key", "rsa1", "-i", "ec1"]);
    expect(noWrap.code).toBe(2);
    expect(noWrap.stderr).toContain("CKA_WRAP false");
    const cbc = await on("A", [
      "wrap",
      "--wrapping-key",
      "transport",
      "-i",
      "ec1",
      "-m",
      "AES-CBC-PAD",
    ]);
    expect(cbc.code).toBe(2);
    expect(cbc.stderr).toMatch(/does not offer AES-CBC-PAD for wrapping; it offers: AES-KEY-WRAP/);
    const garbage = store.path("garbage.wrapped");
    await writeFile(garbage, randomBytes(40));
    const bad = await on("B", [
      "unwrap",
      "--wrapping-key",
      "transport",
      "-f",
      garbage,
      "--key-type",
      "aes",
      "--label",
      "junk",
    ]);
    expect(bad.code).toBe(7);
  });

  it("of four unwraps under one label at once, one creates the key, the others exit 6", async () => {
    await ok("A", ["keygen", "--key-type", "aes:128", "--label", "twin-src", "--extractable"]);
    const wrapped = store.path("twin.wrapped");
    await ok("A", ["wrap", "--wrapping-key", "transport", "-k", "twin-src", "-o", wrapped]);
    const unwrap = () =>
      on("B", [
        "unwrap",
        "--wrapping-key",
        "transport",
        "--input",
        wrapped,
        "--key-type",
        "aes",
        "--label",
        "twin",
      ]);
    const runs = await Promise.all([unwrap(), unwrap(), unwrap(), unwrap()]);
    expect(runs.map((run) => run.code).sort()).toEqual([0, 6, 6, 6]);
    const listed = await on("B", ["list-objects", "--label", "twin", "--json"]);
    expect((JSON.parse(listed.stdout) as unknown[]).length).toBe(1);
  });
});
