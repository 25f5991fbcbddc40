/**
 * tpm2-pkcs11 over a software TPM (swtpm + tpm2-abrmd, all private to this file): the
 * provisioning flow on a second, independent PKCS#11 implementation, with its quirks —
 * key templates with explicit false usages refused (CKR_GENERAL_ERROR; keygen retries),
 * every token's serial 0000000000000000 (selection by label), no PSS in the mechanism
 * list, EC public keys and public data objects refused by C_CreateObject.
 */
import { issue, makeCa } from "../helpers/pki.js";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentsAvailable, TPM2_PKCS11 } from "../helpers/modules.js";
import type { RunResult } from "../helpers/softhsm.js";
import { BIN, cleanEnv, PIN, runCommand, SO_PIN } from "../helpers/softhsm.js";
import type { SoftwareTpm } from "../helpers/tpm.js";
import { startSoftwareTpm, TPM_COMPONENTS } from "../helpers/tpm.js";

const available = componentsAvailable("the tpm2-pkcs11 suite", [
  ...TPM_COMPONENTS,
  "pkcs11-tool",
  "openssl",
]);

const LABEL = "tpm-a";

interface KeygenJson {
  id: string;
  usage: string[];
  publicKeyPem: string;
}

describe.skipIf(!available)("tpm2-pkcs11 over swtpm", () => {
  let tpm: SoftwareTpm;

  beforeAll(async () => {
    tpm = await startSoftwareTpm();
  });

  afterAll(async () => {
    await tpm[Symbol.asyncDispose]();
  });

  function run(file: string, args: string[], input?: string): Promise<RunResult> {
    return runCommand(file, args, {
      env: { ...tpm.env, TSP11_HOME: join(tpm.dir, "home") },
      ...(input === undefined ? {} : { input }),
    });
  }

  function tsp11(args: string[]): Promise<RunResult> {
    return run(process.execPath, [BIN, "--module", TPM2_PKCS11, ...args]);
  }

  function oracle(args: string[]): Promise<RunResult> {
    return run("pkcs11-tool", ["--module", TPM2_PKCS11, ...args]);
  }

  /** tsp11's lines of a stderr that also carries the library's own `ERROR: ...` lines. */
  function own(stderr: string): string {
    return stderr
      .split("\n")
      .filter((line) => line.startsWith("tsp11:"))
      .map((line) => `${line}\n`)
      .join("");
  }

  function ok(result: RunResult): RunResult {
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
    return result;
  }

  const token = ["--token-label", LABEL, "--pin", PIN];
  let rsa: KeygenJson;
  let ec: KeygenJson;

  it("reports the module, and initializes tokens in the free slot (labels padded)", async () => {
    const info = JSON.parse(ok(await tsp11(["info", "--json"])).stdout) as Record<string, string>;
    expect(info).toMatchObject({
      cryptokiVersion: "2.40",
      manufacturer: "tpm2-software.github.io",
      libraryDescription: "TPM2.0 Cryptoki",
      module: TPM2_PKCS11,
    });
    const first = JSON.parse(
      ok(await tsp11(["init-token", "--label", LABEL, "--so-pin", SO_PIN, "--pin", PIN, "--json"]))
        .stdout,
    ) as { slot: number; label: string; serial: string };
    expect(first).toMatchObject({ slot: 1, label: LABEL, serial: "0000000000000000" });
    const second = JSON.parse(
      ok(
        await tsp11(["init-token", "--label", "tpm-b", "--so-pin", SO_PIN, "--pin", PIN, "--json"]),
      ).stdout,
    ) as { slot: number };
    expect(second.slot).toBe(2);
    // pkcs11-tool finds them by label: the label was blank-padded, not NUL-terminated.
    const listing = ok(await oracle(["-L"])).stdout;
    expect(listing).toMatch(/token label\s+: tpm-a\n/);
    expect(listing).toMatch(/token label\s+: tpm-b\n/);
    const slots = JSON.parse(ok(await tsp11(["list-slots", "--json"])).stdout) as {
      slot: number;
      token: { label: string; serial: string; initialized: boolean };
    }[];
    expect(slots.map((s) => [s.slot, s.token.label, s.token.initialized])).toEqual([
      [1, LABEL, true],
      [2, "tpm-b", true],
      [3, "", false],
    ]);
    // Every tpm2-pkcs11 token has the serial 0000000000000000: a serial selects nothing.
    const bySerial = await tsp11(["list-objects", "--serial", "0000000000000000"]);
    expect(bySerial.code).toBe(2);
    expect(bySerial.stderr).toMatch(/several tokens match: "tpm-a".*"tpm-b"/);
  });

  it("generates RSA-2048 and P-256 key pairs (retrying without explicit false usages)", async () => {
    const rsaRun = ok(
      await tsp11(["keygen", ...token, "--key-type", "rsa:2048", "--label", "rk", "--json"]),
    );
    rsa = JSON.parse(rsaRun.stdout) as KeygenJson;
    const ecRun = ok(
      await tsp11(["keygen", ...token, "--key-type", "ec:prime256v1", "--label", "ek", "--json"]),
    );
    ec = JSON.parse(ecRun.stdout) as KeygenJson;
    for (const [json, stderr] of [
      [rsa, rsaRun.stderr],
      [ec, ecRun.stderr],
    ] as const) {
      // The module refuses explicit false usages and turns on decrypt whatever the template says.
      expect(stderr).toMatch(/^ERROR: User specified and TPM specified attr mismatch/);
      expect(own(stderr)).toBe(
        "tsp11: warning: the token refused a template with explicit false usages; retrying with only the requested ones\n" +
          "tsp11: warning: the token gave the key usages that were not asked for: decrypt\n",
      );
      expect(json.usage).toEqual(["sign", "decrypt"]);
    }
    const objects = JSON.parse(ok(await tsp11(["list-objects", ...token, "--json"])).stdout) as {
      class: string;
      label: string;
      id: string;
      keyType: string;
    }[];
    expect(objects.map((o) => `${o.class}:${o.label}:${o.id}:${o.keyType}`).sort()).toEqual([
      `private-key:ek:${ec.id}:ec`,
      `private-key:rk:${rsa.id}:rsa`,
      `public-key:ek:${ec.id}:ec`,
      `public-key:rk:${rsa.id}:rsa`,
    ]);
    const tool = ok(await oracle(["--token-label", LABEL, "-O", "--login", "--pin", PIN])).stdout;
    expect(tool).toContain(`ID:         ${rsa.id}`);
    expect(tool).toContain(`ID:         ${ec.id}`);
    // The module's limits, in the module's words and tsp11's.
    const big = await tsp11(["keygen", ...token, "--key-type", "rsa:4096", "--label", "big"]);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/^ERROR: Keysize 4096 not supported/);
    expect(own(big.stderr)).toBe(
      "tsp11: keygen: generate the key pair: the token refused an attribute value (CKR_ATTRIBUTE_VALUE_INVALID)\n",
    );
    const edwards = await tsp11(["keygen", ...token, "--key-type", "ed25519", "--label", "ed"]);
    expect(edwards.code).toBe(2);
    expect(edwards.stderr).toBe(
      `tsp11: keygen: token "${LABEL}" does not offer CKM_EC_EDWARDS_KEY_PAIR_GEN (ed25519); it generates: rsa, ec, aes\n`,
    );
    // AES-KEY-GEN is in the mechanism list, C_GenerateKey is not implemented.
    const aes = await tsp11(["keygen", ...token, "--key-type", "aes:256", "--label", "aes"]);
    expect(aes.code).toBe(1);
    expect(own(aes.stderr)).toBe(
      "tsp11: keygen: generate the key: the module does not support this function (CKR_FUNCTION_NOT_SUPPORTED)\n",
    );
  });

  it("cannot re-initialize a token (the module refuses C_InitToken on it)", async () => {
    const again = await tsp11([
      "init-token",
      "--label",
      "tpm-b",
      "--token-label",
      "tpm-b",
      "--so-pin",
      SO_PIN,
      "--force",
    ]);
    expect(again.code).toBe(2);
    expect(own(again.stderr)).toBe(
      "tsp11: initialize token in slot 0x2: the module refused the arguments (CKR_ARGUMENTS_BAD)\n",
    );
  });

  it("makes CSRs, stores the certificate and an RSA public key, and signs", async () => {
    const csr = join(tpm.dir, "rk.csr");
    ok(await tsp11(["req", ...token, "-i", "rk", "-d", "/O=tsp11/CN=tpm rsa", "-o", csr]));
    ok(await run("openssl", ["req", "-in", csr, "-verify", "-noout"]));
    const ecCsr = join(tpm.dir, "ek.csr");
    ok(
      await tsp11([
        "req",
        ...token,
        "-i",
        "ek",
        "-d",
        "CN=tpm ec",
        "--hash",
        "sha384",
        "-o",
        ecCsr,
      ]),
    );
    ok(await run("openssl", ["req", "-in", ecCsr, "-verify", "-noout"]));

    const workspace = { path: (file: string) => join(tpm.dir, file), env: cleanEnv() };
    const ca = await makeCa(workspace, "tpm");
    const cert = join(tpm.dir, "rk.crt");
    await issue(workspace, ca, csr, cert);
    const written = JSON.parse(
      ok(await tsp11(["write-object", ...token, "--type", "cert", "-f", cert, "--json"])).stdout,
    ) as { id: string; label: string };
    expect(written).toMatchObject({ id: rsa.id, label: "rk" });
    const der = join(tpm.dir, "rk.der");
    ok(
      await oracle([
        "--token-label",
        LABEL,
        "--read-object",
        "--type",
        "cert",
        "--id",
        rsa.id,
        "-o",
        der,
      ]),
    );
    const original = ok(await run("openssl", ["x509", "-in", cert, "-outform", "DER"])).stdoutBytes;
    const stored = ok(
      await run("openssl", ["x509", "-inform", "DER", "-in", der, "-outform", "DER"]),
    ).stdoutBytes;
    expect(stored).toEqual(original);

    const rsaPem = join(tpm.dir, "rk.pub.pem");
    const ecPem = join(tpm.dir, "ek.pub.pem");
    await writeFile(rsaPem, rsa.publicKeyPem);
    await writeFile(ecPem, ec.publicKeyPem);
    const rsaPub = ok(
      await tsp11([
        "write-object",
        ...token,
        "--type",
        "pubkey",
        "-f",
        rsaPem,
        "--label",
        "copy",
        "--id",
        "77",
        "--json",
      ]),
    );
    expect(JSON.parse(rsaPub.stdout)).toMatchObject({ class: "public-key", id: "77" });
    const ecPub = await tsp11([
      "write-object",
      ...token,
      "--type",
      "pubkey",
      "-f",
      ecPem,
      "--label",
      "copy",
      "--id",
      "78",
    ]);
    expect(ecPub.code).toBe(2);
    expect(ecPub.stderr).toMatch(/^ERROR: Can only create RSA Public key objects or data objects/);
    expect(own(ecPub.stderr)).toBe(
      "tsp11: write-object: create the public key: the token refused an attribute value (CKR_ATTRIBUTE_VALUE_INVALID)\n",
    );
    // Data objects must be private on this module.
    const data = join(tpm.dir, "data.txt");
    await writeFile(data, "signed in a TPM\n");
    const open = await tsp11([
      "write-object",
      ...token,
      "--type",
      "data",
      "-f",
      data,
      "--label",
      "d",
    ]);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/^ERROR: CKA_PRIVATE cannot be CK_FALSE/);
    expect(own(open.stderr)).toBe(
      "tsp11: write-object: create the data: the token refused an attribute value (CKR_ATTRIBUTE_VALUE_INVALID)\n",
    );
    ok(
      await tsp11([
        "write-object",
        ...token,
        "--type",
        "data",
        "-f",
        data,
        "--label",
        "d",
        "--private",
      ]),
    );

    // Signing: the module's own hashing mechanisms; the 200 kB file goes in several
    // C_SignUpdate chunks and one C_SignFinal with a full buffer (no length query).
    const big = join(tpm.dir, "big.bin");
    await writeFile(big, Buffer.alloc(200_000, 0x5a));
    const runs: [string[], string, string, string][] = [
      [["-i", "rk"], rsaPem, "-sha256", data],
      [["-i", "rk", "-m", "SHA384-RSA-PKCS"], rsaPem, "-sha384", data],
      [["-i", "ek"], ecPem, "-sha256", data],
      [["-i", "ek", "-m", "ECDSA-SHA512"], ecPem, "-sha512", data],
      [["-i", "rk"], rsaPem, "-sha256", big],
      [["-i", "ek"], ecPem, "-sha256", big],
    ];
    for (const [args, pem, digest, input] of runs) {
      const sig = join(tpm.dir, "out.sig");
      const signed = ok(
        await tsp11(["sign", ...token, ...args, "--input", input, "--output", sig, "-v"]),
      );
      expect(signed.stderr).toMatch(/signing with CKM_\w+ on the token/);
      ok(await run("openssl", ["dgst", digest, "-verify", pem, "-signature", sig, input]));
    }
    // PSS works in the TPM but the module does not list it: tsp11 goes by the list.
    const pss = await tsp11([
      "sign",
      ...token,
      "-i",
      "rk",
      "-m",
      "SHA256-RSA-PKCS-PSS",
      "--input",
      data,
    ]);
    expect(pss.code).toBe(2);
    expect(pss.stderr).toBe(
      'tsp11: the token offers neither CKM_SHA256_RSA_PKCS_PSS nor CKM_RSA_PKCS_PSS; key "rk" can use: RSA-PKCS, SHA256-RSA-PKCS, SHA384-RSA-PKCS, SHA512-RSA-PKCS (CKR_MECHANISM_INVALID)\n',
    );
  });

  it("lists the mechanisms pkcs11-tool -M lists", async () => {
    const json = JSON.parse(
      ok(await tsp11(["list-mechanisms", "--token-label", LABEL, "--json"])).stdout,
    ) as {
      name: string;
      id: number;
    }[];
    const tool = ok(await oracle(["--token-label", LABEL, "-M"])).stdout;
    const toolNames = tool
      .split("\n")
      .filter((line) => line.startsWith("  "))
      .map((line) => line.trim().split(",")[0] ?? "");
    // pkcs11-tool 0.23 has no name for 0x2107 (AES-CFB128); tsp11 has pkcs11js's.
    expect(
      json.map((m) =>
        toolNames.includes(`mechtype-0x${m.id.toString(16).toUpperCase()}`)
          ? `mechtype-0x${m.id.toString(16).toUpperCase()}`
          : m.name,
      ),
    ).toEqual(toolNames);
    expect(json.map((m) => m.name)).toContain("ECDSA-SHA256");
  });

  it("refuses a wrong PIN (exit 4) without locking the token", async () => {
    const wrong = await tsp11(["list-objects", "--token-label", LABEL, "--pin", "9999"]);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/the authorization HMAC check failed and DA counter incremented/);
    expect(own(wrong.stderr)).toBe(
      `tsp11: log in to token "${LABEL}": incorrect PIN (CKR_PIN_INCORRECT)\n`,
    );
    ok(await tsp11(["list-objects", ...token]));
  });
});
