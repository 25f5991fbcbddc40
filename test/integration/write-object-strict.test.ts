/**
 * Strict input parsing through the built CLI on a real SoftHSM token: malformed certificates
 * and keys (off-curve points, BER, trailing bytes, bad base64) are refused with exit 2 and
 * leave the token as it was; a fuzz run of mutated inputs exits 0 or 2 only, and what it
 * stores is read back by pkcs11-tool and accepted by openssl. Also --chain, the skipped-
 * certificates warning, default labels and `cert --csr` with a corrupted request.
 */
import { generateKeyPairSync } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toPem } from "../../src/asn1/pem.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, storeSnapshot, tempToken } from "../helpers/softhsm.js";
import { certFor, csrFor, SPKIS, spkiOf } from "../unit/asn1/strict-fixtures.js";

const available = softhsmAvailable();

/** The object files only: SoftHSM rewrites token.object on every login. */
async function objectFiles(token: TempToken): Promise<string> {
  const snapshot = await storeSnapshot(token);
  return snapshot
    .split("\n")
    .filter((line) => !line.endsWith("/token.object"))
    .join("\n");
}

function offCurve(spki: Uint8Array): Uint8Array {
  const copy = spki.slice();
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1;
  return copy;
}

describe.skipIf(!available)("write-object: strict parsing", () => {
  let token: TempToken;
  let n = 0;

  beforeAll(async () => {
    token = await tempToken();
  });
  afterAll(async () => {
    await token[Symbol.asyncDispose]();
  });

  async function writeFileNamed(bytes: Uint8Array | string): Promise<string> {
    const path = token.path(`input-${n++}`);
    await writeFile(path, bytes);
    return path;
  }

  function write(type: string, path: string, ...extra: string[]) {
    return token.tsp11([
      "write-object",
      "--pin",
      PIN,
      "--json",
      "--type",
      type,
      "-f",
      path,
      ...extra,
    ]);
  }

  /** Runs a refused write: exit 2, one line naming `why`, no object file changed. */
  async function refused(type: string, bytes: Uint8Array | string, why: RegExp): Promise<void> {
    const path = await writeFileNamed(bytes);
    const before = await objectFiles(token);
    const result = await write(type, path);
    expect(result.stderr).toMatch(why);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.code).toBe(2);
    expect(await objectFiles(token)).toBe(before);
  }

  it("refuses an EC public key whose point is off its curve", async () => {
    await refused("pubkey", offCurve(SPKIS.p256), /point is not on prime256v1/);
  });

  it("refuses a certificate with a BER length, trailing bytes, or an off-curve key", async () => {
    const der = await certFor("CN=strict");
    const ber = Uint8Array.from([0x30, 0x82, 0x00, ...der.subarray(2)]);
    expect(der[1]).toBe(0x81);
    await refused("cert", ber, /not DER/);
    await refused("cert", Uint8Array.from([...der, 0]), /1 trailing byte/);
    await refused("cert", await certFor("CN=off", offCurve(SPKIS.p384)), /not on secp384r1/);
  });

  it("refuses a PEM with bad base64 or a broken second block", async () => {
    const pem = toPem(await certFor("CN=pem"), "CERTIFICATE");
    await refused("cert", pem.replace("\n", "\n!"), /bad base64.*!/);
    await refused("cert", `${pem}-----BEGIN CERTIFICATE-----\nMIIB\n`, /has no matching END/);
  });

  it("stores the first certificate of a chain and says how many it skipped", async () => {
    const pems = await Promise.all(
      ["CN=one", "CN=two", "CN=three"].map(async (s) =>
        toPem(await certFor(s, spkiOf(generateKeyPairSync("ed25519").publicKey)), "CERTIFICATE"),
      ),
    );
    const path = await writeFileNamed(pems.join(""));
    const result = await write("cert", path);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/holds 3 certificates: only the first is stored, 2 skipped/);
    expect((JSON.parse(result.stdout) as { label: string }).label).toBe("one");
  });

  it("--chain stores every certificate, each under its own key's SHA-1 id", async () => {
    const pems = await Promise.all(
      ["CN=c1", "CN=c2"].map(async (s) =>
        toPem(
          await certFor(s, spkiOf(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey)),
          "CERTIFICATE",
        ),
      ),
    );
    const path = await writeFileNamed(pems.join(""));
    const result = await write("cert", path, "--chain");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const stored = JSON.parse(result.stdout) as { label: string; id: string }[];
    expect(stored.map((s) => s.label)).toEqual(["c1", "c2"]);
    expect(new Set(stored.map((s) => s.id)).size).toBe(2);
    // Again: the first conflicts, so neither is stored a second time.
    const before = await objectFiles(token);
    const again = await write("cert", path, "--chain");
    expect(again.code).toBe(6);
    expect(await objectFiles(token)).toBe(before);
    expect((await write("cert", path, "--chain", "--id", "01")).code).toBe(2);
  });

  it("labels a certificate without CN by its OU, and never copies a NUL into a label", async () => {
    const ou = await writeFileNamed(
      await certFor("OU=Class 2 Authority,O=Example,C=US", SPKIS.p521),
    );
    const first = await write("cert", ou);
    expect(first.code).toBe(0);
    expect((JSON.parse(first.stdout) as { label: string }).label).toBe("Class 2 Authority");
    const nul = await writeFileNamed(await certFor("CN=evil\\00.example.com", SPKIS.rsa));
    const second = await write("cert", nul);
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as { label: string }).label).toBe("evil\uFFFD.example.com");
    const listing = await token.pkcs11Tool(["--list-objects", "--type", "cert"]);
    expect(listing.stdout).toContain("Class 2 Authority");
    expect(listing.stdout).not.toContain("\0");
  });

  it("cert --csr with a corrupted request: exit 2 and a clear line, not a decode crash", async () => {
    const keygen = await token.tsp11([
      "keygen",
      "--pin",
      PIN,
      "--key-type",
      "ec:prime256v1",
      "--label",
      "ca",
    ]);
    expect(keygen.code).toBe(0);
    const caPem = token.path("ca.pem");
    const ca = await token.tsp11([
      "cert",
      "--pin",
      PIN,
      "-i",
      "ca",
      "-d",
      "CN=CA",
      "--ca",
      "-o",
      caPem,
    ]);
    expect(ca.code).toBe(0);
    const csr = await csrFor("CN=leaf");
    // The request's key: its last byte (the end of the Ed25519 key) is not the issue here;
    // an off-curve P-256 request key is.
    const { buildCsr } = await import("../../src/asn1/csr.js");
    const { parseDn } = await import("../../src/asn1/dn.js");
    const offCsr = await buildCsr({
      subject: parseDn("CN=leaf"),
      spki: offCurve(SPKIS.p256),
      scheme: { kind: "ecdsa", hash: "sha256" },
      sign: () => new Uint8Array(8),
    });
    for (const [bytes, why] of [
      [offCsr, /not on prime256v1/],
      [Uint8Array.from([...csr, 0, 0]), /2 trailing bytes/],
      [csr.slice(0, 40), /certificate request/],
    ] as const) {
      const path = await writeFileNamed(bytes);
      const result = await token.tsp11([
        "cert",
        "--pin",
        PIN,
        "-i",
        "ca",
        "--csr",
        path,
        "--issuer-cert",
        caPem,
      ]);
      expect(result.stderr).toMatch(why);
      expect(result.stderr).not.toMatch(/unexpected error/);
      expect(result.code).toBe(2);
    }
  });

  // About 30 runs of the CLI and the oracles: a generous timeout for a loaded CI machine.
  it(
    "fuzz: mutated certificates and public keys exit 0 or 2; what is stored openssl accepts",
    { timeout: 300_000 },
    async () => {
      const bases = [
        { type: "cert", der: await certFor("CN=fuzz,O=tsp11", SPKIS.p256) },
        { type: "pubkey", der: SPKIS.p256 },
        { type: "pubkey", der: SPKIS.rsa },
      ];
      const mutant = fc.record({
        base: fc.nat({ max: bases.length - 1 }),
        at: fc.nat(),
        kind: fc.constantFrom("flip", "cut", "insert", "tail"),
        value: fc.integer({ min: 0, max: 255 }),
        pem: fc.boolean(),
      });
      const samples = fc.sample(mutant, { seed: 20261205, numRuns: 30 });
      const codes = new Map<number, number>();
      for (const sample of samples) {
        const { type, der } = bases[sample.base] ?? { type: "cert", der: new Uint8Array() };
        const k = sample.at % der.length;
        const bytes =
          sample.kind === "flip"
            ? Uint8Array.from(der, (v, i) => (i === k ? v ^ (1 << (sample.value % 8)) : v))
            : sample.kind === "cut"
              ? der.slice(0, k)
              : sample.kind === "insert"
                ? Uint8Array.from([...der.subarray(0, k), sample.value, ...der.subarray(k)])
                : Uint8Array.from([...der, sample.value]);
        const input = sample.pem
          ? toPem(bytes, type === "cert" ? "CERTIFICATE" : "PUBLIC KEY")
          : bytes;
        const path = await writeFileNamed(input);
        const before = await objectFiles(token);
        const result = await write(type, path, "--force");
        codes.set(result.code, (codes.get(result.code) ?? 0) + 1);
        expect([0, 2], `${sample.kind} at ${k}: ${result.stderr}`).toContain(result.code);
        if (result.code === 2) {
          expect(await objectFiles(token)).toBe(before);
          continue;
        }
        const { id } = JSON.parse(result.stdout) as { id: string };
        const out = token.path(`stored-${n++}.der`);
        const read = await token.pkcs11Tool([
          "--read-object",
          "--type",
          type,
          "--id",
          id,
          "-o",
          out,
        ]);
        expect(read.code).toBe(0);
        const check =
          type === "cert"
            ? ["x509", "-inform", "DER", "-noout", "-in", out]
            : ["pkey", "-pubin", "-inform", "DER", "-noout", "-in", out];
        const oracle = await token.exec("openssl", check);
        expect(oracle.code, `${sample.kind} at ${k}: ${oracle.stderr}`).toBe(0);
        if (type === "cert")
          expect(Buffer.from(await readFile(out)).equals(Buffer.from(bytes))).toBe(true);
      }
      // The sample holds both outcomes, so both paths were checked.
      expect(codes.get(0) ?? 0).toBeGreaterThan(0);
      expect(codes.get(2) ?? 0).toBeGreaterThan(0);
    },
  );
});
