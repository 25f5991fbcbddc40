/**
 * p11-kit-proxy.so: one module that aggregates the registered ones. As root p11-kit reads
 * only the system module configs (/usr/share/p11-kit/modules): SoftHSM (which honours
 * SOFTHSM2_CONF, so the tokens are this test's), OpenSC (no slots without a reader) and,
 * once installed, tpm2-pkcs11 (pointed at this test's software TPM and store). Tokens of
 * both real modules are listed and used through the proxy, and checked on the module itself.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentsAvailable, P11KIT_PROXY, TPM2_PKCS11 } from "../helpers/modules.js";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import {
  BIN,
  PIN,
  runCommand,
  SO_PIN,
  SOFTHSM,
  softhsmAvailable,
  tempToken,
} from "../helpers/softhsm.js";
import type { SoftwareTpm } from "../helpers/tpm.js";
import { startSoftwareTpm, TPM_COMPONENTS } from "../helpers/tpm.js";

const available =
  softhsmAvailable() &&
  componentsAvailable("the p11-kit-proxy suite", [
    P11KIT_PROXY,
    "/usr/share/p11-kit/modules/softhsm2.module",
    "pkcs11-tool",
    "openssl",
  ]);
/** The TPM part runs where tpm2-pkcs11 is installed (always under CI). */
const withTpm = available && componentsAvailable("the p11-kit-proxy suite (TPM)", TPM_COMPONENTS);

function ok(result: RunResult): RunResult {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  return result;
}

interface SlotJson {
  slot: number;
  token: { label: string; manufacturer: string } | null;
}

describe.skipIf(!available)("p11-kit-proxy.so", () => {
  let store: TempToken;
  let tpm: SoftwareTpm | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    store = await tempToken({ label: "hsm-a" });
    const home = store.path("home");
    await mkdir(home);
    // tpm2-pkcs11 loaded by the proxy creates its store in TPM2_PKCS11_STORE, else in $HOME.
    const tpmStore = store.path("tpm-store");
    await mkdir(tpmStore);
    env = {
      ...store.env,
      HOME: home,
      XDG_CONFIG_HOME: `${home}/.config`,
      TPM2_PKCS11_STORE: tpmStore,
    };
    if (withTpm) {
      tpm = await startSoftwareTpm();
      env = { ...env, ...tpm.env };
      ok(
        await runCommand(
          process.execPath,
          [
            BIN,
            "--module",
            TPM2_PKCS11,
            "init-token",
            "--label",
            "tpm-p",
            "--so-pin",
            SO_PIN,
            "--pin",
            PIN,
          ],
          { env },
        ),
      );
    }
  });

  afterAll(async () => {
    await tpm?.[Symbol.asyncDispose]();
    await store[Symbol.asyncDispose]();
  });

  function proxy(args: string[]): Promise<RunResult> {
    return runCommand(process.execPath, [BIN, "--module", P11KIT_PROXY, ...args], { env });
  }

  /** tsp11's own stderr lines (tpm2-pkcs11 prints its own on first use of a store). */
  function own(stderr: string): string {
    return stderr
      .split("\n")
      .filter((line) => line.startsWith("tsp11:"))
      .join("\n");
  }

  it("lists the tokens of every module it aggregates", async () => {
    const info = JSON.parse(ok(await proxy(["info", "--json"])).stdout) as Record<string, string>;
    expect(info).toMatchObject({
      manufacturer: "PKCS#11 Kit",
      libraryDescription: "PKCS#11 Kit Proxy Module",
      module: P11KIT_PROXY,
    });
    const slots = JSON.parse(ok(await proxy(["list-slots", "--json"])).stdout) as SlotJson[];
    const labels = slots.map((s) => `${s.token?.manufacturer ?? ""}/${s.token?.label ?? ""}`);
    expect(labels).toContain("SoftHSM project/hsm-a");
    if (withTpm) expect(labels).toContain("IBM/tpm-p");
    // p11-kit numbers the aggregated slots itself.
    for (const slot of slots) expect(slot.slot).toBeGreaterThanOrEqual(0x11);
    // The user's own store was not touched by tpm2-pkcs11.
    expect(existsSync(`${env.HOME ?? ""}/.tpm2_pkcs11`)).toBe(false);
  });

  it("uses a SoftHSM token through the proxy; SoftHSM itself sees the result", async () => {
    const token = ["--token-label", "hsm-a", "--pin", PIN];
    const key = JSON.parse(
      ok(
        await proxy([
          "keygen",
          ...token,
          "--key-type",
          "ec:prime256v1",
          "--label",
          "via-proxy",
          "--json",
        ]),
      ).stdout,
    ) as { id: string; publicKeyPem: string };
    const direct = ok(
      await runCommand("pkcs11-tool", ["--module", SOFTHSM, "--token-label", "hsm-a", "-O"], {
        env,
      }),
    );
    expect(direct.stdout).toContain(`ID:         ${key.id}`);
    const csr = store.path("proxy.csr");
    ok(await proxy(["req", ...token, "-i", "via-proxy", "-d", "/CN=via proxy", "-o", csr]));
    ok(await runCommand("openssl", ["req", "-in", csr, "-verify", "-noout"], { env }));
    const data = store.path("data.txt");
    const pem = store.path("via-proxy.pem");
    const sig = store.path("via-proxy.sig");
    await writeFile(data, "through p11-kit-proxy\n");
    await writeFile(pem, key.publicKeyPem);
    ok(await proxy(["sign", ...token, "-i", "via-proxy", "--input", data, "--output", sig]));
    ok(
      await runCommand("openssl", ["dgst", "-sha256", "-verify", pem, "-signature", sig, data], {
        env,
      }),
    );
  });

  it.skipIf(!withTpm)("uses a TPM token through the same proxy", async () => {
    const token = ["--token-label", "tpm-p", "--pin", PIN];
    const run = ok(
      await proxy(["keygen", ...token, "--key-type", "rsa:2048", "--label", "tpm-key", "--json"]),
    );
    const key = JSON.parse(run.stdout) as { id: string; publicKeyPem: string };
    expect(own(run.stderr)).toContain("retrying with only the requested ones");
    const listed = JSON.parse(ok(await proxy(["list-objects", ...token, "--json"])).stdout) as {
      label: string;
      id: string;
    }[];
    expect(listed.map((o) => `${o.label}:${o.id}`)).toEqual([
      `tpm-key:${key.id}`,
      `tpm-key:${key.id}`,
    ]);
    const direct = ok(
      await runCommand("pkcs11-tool", ["--module", TPM2_PKCS11, "--token-label", "tpm-p", "-O"], {
        env,
      }),
    );
    expect(direct.stdout).toContain(`ID:         ${key.id}`);
    const data = store.path("tpm-data.txt");
    const pem = store.path("tpm-key.pem");
    const sig = store.path("tpm-key.sig");
    await writeFile(data, "TPM through p11-kit-proxy\n");
    await writeFile(pem, key.publicKeyPem);
    ok(await proxy(["sign", ...token, "-i", "tpm-key", "--input", data, "--output", sig]));
    ok(
      await runCommand("openssl", ["dgst", "-sha256", "-verify", pem, "-signature", sig, data], {
        env,
      }),
    );
  });
});
