/**
 * NSS's software token (libsoftokn3.so) as a PKCS#11 module: it needs its database in the
 * library parameters of C_Initialize (--module-params / TSP11_MODULE_PARAMS). The keys,
 * certificates and CSRs tsp11 makes there are checked with certutil, NSS's own tool.
 */
import { issue, makeCa } from "../helpers/pki.js";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentsAvailable, NSS_SOFTOKN } from "../helpers/modules.js";
import type { RunResult } from "../helpers/softhsm.js";
import { BIN, cleanEnv, runCommand } from "../helpers/softhsm.js";

const available = componentsAvailable("the NSS softoken suite", [
  NSS_SOFTOKN,
  "certutil",
  "openssl",
]);

const TOKEN = "NSS Certificate DB";

interface KeygenJson {
  id: string;
  usage: string[];
  publicKeyPem: string;
}

describe.skipIf(!available)("NSS softoken (libsoftokn3.so)", () => {
  let dir: string;
  let db: string;
  let params: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tsp11-nss-"));
    db = join(dir, "nssdb");
    await run("mkdir", [db]);
    ok(await run("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"]));
    params = `configdir='sql:${db}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=`;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return runCommand(file, args, { env: cleanEnv({ TSP11_HOME: join(dir, "home"), ...env }) });
  }

  /** tsp11 on the softoken: module and parameters from the environment, as a script would. */
  function tsp11(args: string[]): Promise<RunResult> {
    return run(process.execPath, [BIN, ...args], {
      TSP11_MODULE: NSS_SOFTOKN,
      TSP11_MODULE_PARAMS: params,
    });
  }

  function ok(result: RunResult): RunResult {
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
    return result;
  }

  const token = ["--token-label", TOKEN, "--pin", ""];
  let rsa: KeygenJson;
  let ec: KeygenJson;

  it("initializes with --module-params and reports the module and its two tokens", async () => {
    const info = ok(
      await run(process.execPath, [
        BIN,
        "info",
        "--json",
        "--module",
        NSS_SOFTOKN,
        "--module-params",
        params,
      ]),
    );
    expect(JSON.parse(info.stdout)).toMatchObject({
      cryptokiVersion: "2.40",
      manufacturer: "Mozilla Foundation",
      libraryDescription: "NSS Internal Crypto Services",
      module: NSS_SOFTOKN,
    });
    const slots = JSON.parse(ok(await tsp11(["list-slots", "--json"])).stdout) as {
      token: { label: string; loginRequired: boolean };
    }[];
    expect(slots.map((s) => s.token.label)).toEqual(["NSS Generic Crypto Services", TOKEN]);
    // Two initialized tokens: a command must be told which.
    const ambiguous = await tsp11(["list-objects"]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/several tokens.*"NSS Certificate DB"/);
  });

  it("says what the module needs when the parameters are missing", async () => {
    const result = await run(process.execPath, [BIN, "list-slots", "--module", NSS_SOFTOKN]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(
      /^tsp11: initialize module .*libsoftokn3\.so: the module refused the arguments; it may need library parameters: --module-params .*configdir='sql:DIR'.* \(CKR_ARGUMENTS_BAD\)\n$/,
    );
  });

  it("generates RSA and EC keys that certutil -K lists by id and label", async () => {
    rsa = JSON.parse(
      ok(
        await tsp11(["keygen", ...token, "--key-type", "rsa:2048", "--label", "nss-rsa", "--json"]),
      ).stdout,
    ) as KeygenJson;
    const ecRun = ok(
      await tsp11([
        "keygen",
        ...token,
        "--key-type",
        "ec:prime256v1",
        "--label",
        "nss-ec",
        "--json",
      ]),
    );
    ec = JSON.parse(ecRun.stdout) as KeygenJson;
    // CKA_DERIVE is sent false on both halves: NSS would turn it on for the EC public key.
    expect(ec.usage).toEqual(["sign"]);
    expect(ecRun.stderr).toBe("");
    const keys = ok(await run("certutil", ["-K", "-d", `sql:${db}`])).stdout;
    expect(keys).toMatch(new RegExp(`rsa\\s+${rsa.id}\\s+nss-rsa\\n`));
    expect(keys).toMatch(new RegExp(`ec\\s+${ec.id}\\s+nss-ec\\n`));
    const objects = JSON.parse(ok(await tsp11(["list-objects", ...token, "--json"])).stdout) as {
      class: string;
      label: string;
      id: string;
      usage: string[];
    }[];
    expect(objects.map((o) => `${o.class}:${o.label}:${o.id}:${o.usage.join(",")}`).sort()).toEqual(
      [
        `private-key:nss-ec:${ec.id}:sign`,
        `private-key:nss-rsa:${rsa.id}:sign`,
        `public-key:nss-ec:${ec.id}:verify`,
        `public-key:nss-rsa:${rsa.id}:verify`,
      ],
    );
    const edwards = await tsp11(["keygen", ...token, "--key-type", "ed25519", "--label", "ed"]);
    expect(edwards.code).toBe(2);
    expect(edwards.stderr).toBe(
      `tsp11: keygen: token "${TOKEN}" does not offer CKM_EC_EDWARDS_KEY_PAIR_GEN (ed25519); it generates: rsa, ec, aes, generic/hmac, des3\n`,
    );
  });

  it("makes a CSR, stores the issued certificate (certutil -L), and signs", async () => {
    const csr = join(dir, "nss.csr");
    ok(await tsp11(["req", ...token, "-i", "nss-rsa", "-d", "/O=tsp11/CN=nss rsa", "-o", csr]));
    ok(await run("openssl", ["req", "-in", csr, "-verify", "-noout"]));
    const ecCsr = join(dir, "nss-ec.csr");
    ok(await tsp11(["req", ...token, "-i", "nss-ec", "-d", "CN=nss ec", "-o", ecCsr]));
    ok(await run("openssl", ["req", "-in", ecCsr, "-verify", "-noout"]));

    const workspace = { path: (file: string) => join(dir, file), env: cleanEnv() };
    const ca = await makeCa(workspace, "nss");
    const cert = join(dir, "nss.crt");
    await issue(workspace, ca, csr, cert);
    const written = JSON.parse(
      ok(await tsp11(["write-object", ...token, "--type", "cert", "-f", cert, "--json"])).stdout,
    ) as { id: string; label: string; subject: string };
    expect(written).toMatchObject({ id: rsa.id, label: "nss-rsa", subject: "CN=nss rsa,O=tsp11" });
    // certutil sees the certificate under the key's label, as a user certificate (u,u,u).
    const certs = ok(await run("certutil", ["-L", "-d", `sql:${db}`])).stdout;
    expect(certs).toMatch(/\nnss-rsa\s+u,u,u\n/);
    const pem = ok(await run("certutil", ["-L", "-d", `sql:${db}`, "-n", "nss-rsa", "-a"])).stdout;
    const original = ok(await run("openssl", ["x509", "-in", cert])).stdout;
    expect(pem.replace(/\r/g, "")).toBe(original);

    const data = join(dir, "data.txt");
    await writeFile(data, "signed by NSS\n");
    const rsaPem = join(dir, "rsa.pem");
    const ecPem = join(dir, "ec.pem");
    await writeFile(rsaPem, rsa.publicKeyPem);
    await writeFile(ecPem, ec.publicKeyPem);
    const runs: [string[], string, string[]][] = [
      [["-i", "nss-rsa"], rsaPem, []],
      [["-i", "nss-ec"], ecPem, []],
      [
        ["-i", "nss-rsa", "-m", "SHA256-RSA-PKCS-PSS"],
        rsaPem,
        ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"],
      ],
    ];
    for (const [args, pem, sigopt] of runs) {
      const sig = join(dir, `sig-${args.join("")}`);
      const signed = ok(
        await tsp11(["sign", ...token, ...args, "--input", data, "--output", sig, "-v"]),
      );
      // NSS has the hashing mechanisms itself (ECDSA-SHA256 included).
      expect(signed.stderr).toMatch(/signing with CKM_\w+ on the token/);
      ok(
        await run("openssl", [
          "dgst",
          "-sha256",
          ...sigopt,
          "-verify",
          pem,
          "-signature",
          sig,
          data,
        ]),
      );
    }
  });

  it("signs by the nickname certutil gave: the key has no label, its certificate has", async () => {
    const noise = join(dir, "noise");
    await writeFile(noise, randomBytes(64));
    ok(
      await run("certutil", [
        ...["-S", "-d", `sql:${db}`, "-n", "Nick Name", "-s", "CN=nick", "-x", "-t", "u,u,u"],
        ...["-k", "ec", "-q", "nistp256", "-Z", "SHA256", "-z", noise],
      ]),
    );
    const listed = JSON.parse(ok(await tsp11(["list-objects", ...token, "--json"])).stdout) as {
      class: string;
      label: string;
      id: string;
    }[];
    const cert = listed.find((o) => o.class === "certificate" && o.label === "Nick Name");
    expect(cert).toBeDefined();
    // NSS puts the nickname on the certificate alone.
    expect(listed.find((o) => o.class === "private-key" && o.id === cert?.id)?.label).toBe("");
    const certPem = join(dir, "nick.crt");
    await writeFile(
      certPem,
      ok(await run("certutil", ["-L", "-d", `sql:${db}`, "-n", "Nick Name", "-a"])).stdout,
    );
    const data = join(dir, "data.txt");
    const sig = join(dir, "nick.sig");
    ok(await tsp11(["sign", ...token, "-i", "Nick Name", "--input", data, "--output", sig]));
    const pub = join(dir, "nick-pub.pem");
    ok(await run("openssl", ["x509", "-in", certPem, "-pubkey", "-noout", "-out", pub]));
    ok(await run("openssl", ["dgst", "-sha256", "-verify", pub, "-signature", sig, data]));
  });

  it("stores public keys; data objects are refused by the module, with its reason", async () => {
    const pub = join(dir, "ec.pem");
    const stored = ok(
      await tsp11([
        "write-object",
        ...token,
        "--type",
        "pubkey",
        "-f",
        pub,
        "--label",
        "copy",
        "--id",
        "99",
        "--json",
      ]),
    );
    expect(JSON.parse(stored.stdout)).toMatchObject({ class: "public-key", id: "99" });
    const data = join(dir, "data.txt");
    const refused = await tsp11([
      "write-object",
      ...token,
      "--type",
      "data",
      "-f",
      data,
      "--label",
      "d",
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      "tsp11: write-object: create the data: the token refused an attribute value (CKR_ATTRIBUTE_VALUE_INVALID)\n",
    );
  });

  it("lists mechanisms by pkcs11-tool's names", async () => {
    const json = JSON.parse(
      ok(await tsp11(["list-mechanisms", "--token-label", TOKEN, "--json"])).stdout,
    ) as { name: string; flags: string[] }[];
    const names = json.map((m) => m.name);
    for (const name of [
      "RSA-PKCS-KEY-PAIR-GEN",
      "ECDSA-KEY-PAIR-GEN",
      "ECDSA-SHA256",
      "SHA256-RSA-PKCS-PSS",
    ])
      expect(names).toContain(name);
    expect(json.find((m) => m.name === "ECDSA")?.flags).toEqual(
      expect.arrayContaining(["CKF_SIGN", "CKF_VERIFY"]),
    );
  });
});
