/**
 * examples/provision.sh end to end, on tsp11's embedded default store in a temporary
 * TSP11_HOME, and what it leaves on the token, checked with pkcs11-tool and openssl.
 */
import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  canonicalSpki,
  execQuiet,
  objectListing,
  openssl,
  readObject,
  tsp11,
} from "../helpers/pki.js";
import type { RunResult } from "../helpers/softhsm.js";
import { cleanEnv, softhsmAvailable, TempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

const SCRIPT = resolve(import.meta.dirname, "../../examples/provision.sh");
/** PINs that cannot turn up in hex or base64 by chance, so "never printed" means something. */
const SO_PIN = "So-pin-Provision-77";
const USER_PIN = "User-pin-Provision-42";

/** The script's token store, seen through the test helpers (SOFTHSM2_CONF = its softhsm2.conf). */
async function scratch(): Promise<TempToken> {
  const dir = await mkdtemp(join(tmpdir(), "tsp11-provision-test-"));
  return new TempToken(dir, "provision");
}

function runScript(store: TempToken, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return execQuiet(store, "bash", [SCRIPT], {
    // Only what a user would have: no SOFTHSM2_CONF, no TSP11_* from the test's helpers.
    env: { ...cleanEnv(), SOFTHSM2_CONF: undefined, TSP11_HOME: undefined, ...env },
  });
}

function expectNoPins(result: RunResult): void {
  for (const secret of [SO_PIN, USER_PIN]) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}

interface ListedObject {
  class: string;
  label: string;
  id: string;
  keyType?: string;
  bits?: number;
  usage: string[];
  subject?: string;
  issuer?: string;
}

describe.skipIf(!available)("examples/provision.sh", () => {
  it("provisions key, CSR, CA-issued certificate and lists them (given TSP11_HOME)", async () => {
    await using store = await scratch();
    const work = store.path("work");
    const result = await runScript(store, {
      TSP11_HOME: store.dir,
      WORK: work,
      SO_PIN,
      USER_PIN,
    });
    expect(result.code, result.stderr).toBe(0);
    expectNoPins(result);
    expect(result.stdout).toContain(`token store (TSP11_HOME): ${store.dir}\n`);
    // tsp11 wrote its own softhsm2.conf there: the embedded default was used.
    expect(await readFile(store.path("softhsm2.conf"), "utf8")).toContain(
      `directories.tokendir = ${store.path("tokens")}`,
    );

    // The objects, as pkcs11-tool sees them.
    const listing = await objectListing(store, USER_PIN);
    expect(listing).toMatch(
      /Private Key Object; RSA \n\s+label:\s+key-1\n\s+ID:\s+0001\n\s+Usage:\s+sign\n/,
    );
    expect(listing).toMatch(/Public Key Object; RSA 2048 bits\n\s+label:\s+key-1\n\s+ID:\s+0001\n/);
    expect(listing).toMatch(
      /Certificate Object; type = X\.509 cert\n\s+label:\s+key-1\n\s+subject:\s+DN: CN=device-1\.example\.com\n\s+serial:\s+[0-9A-F]+\n\s+ID:\s+0001\n/,
    );

    // The stored certificate is the CA's, byte for byte, issued for the token's key.
    const stored = await readObject(store, "cert", ["--id", "0001"], store.path("stored.der"));
    expect(stored.equals(await readFile(join(work, "key-1.der")))).toBe(true);
    const cert = new X509Certificate(stored);
    const ca = new X509Certificate(await readFile(join(work, "caCert.pem")));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subject).toBe("CN=device-1.example.com");
    expect(cert.issuer).toBe("CN=tsp11 provisioning test CA");
    const tokenKey = await readObject(store, "pubkey", ["--id", "0001"], store.path("pub.der"));
    expect(
      canonicalSpki(tokenKey).equals(cert.publicKey.export({ type: "spki", format: "der" })),
    ).toBe(true);
    await openssl(store, ["req", "-in", join(work, "key-1.csr"), "-verify", "-noout"]);

    // tsp11's own listing through the embedded default (TSP11_HOME only).
    const listed = await tsp11(store, ["list-objects", "--json"], {
      env: { SOFTHSM2_CONF: undefined, TSP11_HOME: store.dir, TSP11_PIN: USER_PIN },
    });
    expect(listed.code, listed.stderr).toBe(0);
    const objects = JSON.parse(listed.stdout) as ListedObject[];
    expect(objects.map((o) => [o.class, o.label, o.id])).toEqual([
      ["private-key", "key-1", "0001"],
      ["public-key", "key-1", "0001"],
      ["certificate", "key-1", "0001"],
    ]);
    expect(objects[0]).toMatchObject({ keyType: "rsa", bits: 2048, usage: ["sign"] });
    expect(objects[2]).toMatchObject({
      subject: "CN=device-1.example.com",
      issuer: "CN=tsp11 provisioning test CA",
    });

    // Run again on the same store: refused before anything is touched.
    const before = await objectListing(store, USER_PIN);
    const again = await runScript(store, { TSP11_HOME: store.dir, WORK: work, SO_PIN, USER_PIN });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a token labelled "provision" already exists/);
    expectNoPins(again);
    expect(await objectListing(store, USER_PIN)).toBe(before);
  });

  it("uses a fresh temporary TSP11_HOME by default, and takes the CA's PEM directly", async () => {
    await using scratchDir = await scratch();
    const tmp = scratchDir.path("tmp");
    await mkdir(tmp);
    const result = await runScript(scratchDir, {
      TMPDIR: tmp,
      CERT_FORMAT: "pem",
      SO_PIN,
      USER_PIN,
      SUBJECT: "/O=Example/CN=device-2",
    });
    expect(result.code, result.stderr).toBe(0);
    expectNoPins(result);
    const home = /token store \(TSP11_HOME\): (\S+)\n/.exec(result.stdout)?.[1] ?? "";
    const work = /work files \(CSR, CA\):\s+(\S+)\n/.exec(result.stdout)?.[1] ?? "";
    expect(home.startsWith(`${tmp}/tsp11-provision.`)).toBe(true);
    expect(work.startsWith(`${tmp}/tsp11-provision-work.`)).toBe(true);
    expect(existsSync(join(home, "softhsm2.conf"))).toBe(true);
    // The PEM variant needs no DER file.
    expect((await readdir(work)).sort()).toEqual(
      ["caCert.pem", "caCert.srl", "caKey.pem", "key-1.csr", "key-1.pem"].sort(),
    );

    const store = new TempToken(home, "provision");
    const stored = await readObject(store, "cert", ["--id", "0001"], join(tmp, "stored.der"));
    const issued = new X509Certificate(await readFile(join(work, "key-1.pem")));
    expect(stored.equals(issued.raw)).toBe(true);
    expect(issued.subject).toBe("O=Example\nCN=device-2");
    await rm(home, { recursive: true, force: true });
  });
});
