/**
 * A SoftHSM token forwarded by `p11-kit server` and used through p11-kit-client.so: the
 * contract's default module when P11_KIT_SERVER_ADDRESS is set. The RPC layer offers fewer
 * mechanisms than the token (no EdDSA, no hashing PSS, no AES-CBC/GCM); tsp11 signs by
 * hashing on the host or says what is missing. A server that dies mid-session, or is not
 * there at all, is reported as such.
 */
import { spawn } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { P11KitServer } from "../helpers/modules.js";
import { componentsAvailable, P11KIT_CLIENT, startP11KitServer } from "../helpers/modules.js";
import { issue, makeCa, openssl } from "../helpers/pki.js";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import {
  BIN,
  cleanEnv,
  PIN,
  runCommand,
  SO_PIN,
  SOFTHSM,
  softhsmAvailable,
  tempToken,
} from "../helpers/softhsm.js";

const available =
  softhsmAvailable() &&
  componentsAvailable("the p11-kit suite", [
    "p11-kit",
    P11KIT_CLIENT,
    "/usr/libexec/p11-kit/p11-kit-remote",
    "pkcs11-tool",
    "openssl",
  ]);

const LABEL = "remote";

interface KeygenJson {
  id: string;
  publicKeyPem: string;
}

describe.skipIf(!available)("p11-kit remoting (p11-kit-client.so)", () => {
  /** The SoftHSM store behind the servers. */
  let store: TempToken;
  /** Exports every slot, the free one included (init-token goes through it). */
  let all: P11KitServer;
  /** Exports only the token labelled "remote", as a deployment would. */
  let forwarded: P11KitServer;
  let home: string;

  beforeAll(async () => {
    store = await tempToken({ init: false });
    home = store.path("client-home");
    await mkdir(home);
    const serverEnv = cleanEnv({ SOFTHSM2_CONF: store.env.SOFTHSM2_CONF });
    all = await startP11KitServer(store.path("all.sock"), SOFTHSM, ["pkcs11:"], serverEnv);
    forwarded = await startP11KitServer(
      store.path("tok.sock"),
      SOFTHSM,
      [`pkcs11:token=${LABEL}`],
      serverEnv,
    );
  });

  afterAll(async () => {
    await all.stop();
    await forwarded.stop();
    await store[Symbol.asyncDispose]();
  });

  /**
   * tsp11 as a client machine runs it: no --module, no SoftHSM configuration, only the
   * server's address (an empty TSP11_HOME proves the embedded store is not what answers).
   */
  function client(
    server: P11KitServer | string,
    args: string[],
    input?: Buffer,
  ): Promise<RunResult> {
    const address = typeof server === "string" ? server : server.address;
    return runCommand(process.execPath, [BIN, ...args], {
      env: cleanEnv({ P11_KIT_SERVER_ADDRESS: address, TSP11_HOME: home }),
      ...(input ? { input } : {}),
    });
  }

  function oracle(server: P11KitServer, args: string[]): Promise<RunResult> {
    return runCommand("pkcs11-tool", ["--module", P11KIT_CLIENT, ...args], {
      env: cleanEnv({ P11_KIT_SERVER_ADDRESS: server.address }),
    });
  }

  function ok(result: RunResult): RunResult {
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
    return result;
  }

  const login = ["--token-label", LABEL, "--pin", PIN];

  it("loads p11-kit-client.so by default when P11_KIT_SERVER_ADDRESS is set", async () => {
    const info = ok(await client(all, ["info", "--json"]));
    expect(JSON.parse(info.stdout)).toEqual({
      cryptokiVersion: "2.40",
      manufacturer: "PKCS#11 Kit",
      libraryDescription: "PKCS#11 Kit Proxy Module",
      libraryVersion: expect.stringMatching(/^\d+\.\d+$/) as unknown,
      module: P11KIT_CLIENT,
    });
    // The free slot only, and under p11-kit's slot ids (0x11...), not SoftHSM's.
    const slots = JSON.parse(ok(await client(all, ["list-slots", "--all", "--json"])).stdout) as {
      slot: number;
      token: { initialized: boolean } | null;
    }[];
    expect(slots).toHaveLength(1);
    expect(slots[0]?.slot).toBe(0x11);
    expect(slots[0]?.token?.initialized).toBe(false);
  });

  it("initializes the free slot through the server and sees it through both exports", async () => {
    const init = ok(
      await client(all, [
        "init-token",
        "--label",
        LABEL,
        "--so-pin",
        SO_PIN,
        "--pin",
        PIN,
        "--json",
      ]),
    );
    const result = JSON.parse(init.stdout) as { label: string; slot: number; uri: string };
    expect(result.label).toBe(LABEL);
    expect(result.uri).toContain(`token=${LABEL}`);
    const listed = ok(await client(forwarded, ["list-slots", "--json"]));
    const slots = JSON.parse(listed.stdout) as { slot: number; token: { label: string } }[];
    expect(slots.map((s) => s.token.label)).toEqual([LABEL]);
    // The oracle sees the same token through the same client module.
    const tool = await oracle(forwarded, ["-L"]);
    expect(tool.stdout).toMatch(new RegExp(`token label\\s+: ${LABEL}\\n`));
  });

  let rsa: KeygenJson;
  let ec: KeygenJson;

  it("generates RSA and EC key pairs remotely; list-objects and pkcs11-tool agree", async () => {
    rsa = JSON.parse(
      ok(
        await client(forwarded, [
          "keygen",
          ...login,
          "--key-type",
          "rsa:2048",
          "--label",
          "rk",
          "--json",
        ]),
      ).stdout,
    ) as KeygenJson;
    ec = JSON.parse(
      ok(
        await client(forwarded, [
          "keygen",
          ...login,
          "--key-type",
          "ec:prime256v1",
          "--label",
          "ek",
          "--json",
        ]),
      ).stdout,
    ) as KeygenJson;
    const objects = JSON.parse(
      ok(await client(forwarded, ["list-objects", ...login, "--json"])).stdout,
    ) as {
      class: string;
      label: string;
      id: string;
    }[];
    expect(objects.map((o) => `${o.class}:${o.label}:${o.id}`).sort()).toEqual(
      [
        `private-key:rk:${rsa.id}`,
        `public-key:rk:${rsa.id}`,
        `private-key:ek:${ec.id}`,
        `public-key:ek:${ec.id}`,
      ].sort(),
    );
    const tool = await oracle(forwarded, ["-O", "--login", "--pin", PIN]);
    expect(tool.code).toBe(0);
    expect(tool.stdout).toContain(`ID:         ${rsa.id}`);
    expect(tool.stdout).toContain(`ID:         ${ec.id}`);
  });

  it("says the token does not offer EdDSA key generation (the RPC layer filters it)", async () => {
    const result = await client(forwarded, [
      "keygen",
      ...login,
      "--key-type",
      "ed25519",
      "--label",
      "ed",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(
        `^tsp11: keygen: token "${LABEL}" does not offer CKM_EC_EDWARDS_KEY_PAIR_GEN \\(ed25519\\); it generates: rsa, ec\\b.*\n$`,
      ),
    );
  });

  it("lists the mechanisms pkcs11-tool -M lists through the same client", async () => {
    const json = JSON.parse(ok(await client(forwarded, ["list-mechanisms", "--json"])).stdout) as {
      name: string;
      id: number;
      flags: string[];
    }[];
    const tool = await oracle(forwarded, ["-M"]);
    const toolNames = tool.stdout
      .split("\n")
      .filter((line) => line.startsWith("  "))
      .map((line) => line.trim().split(",")[0] ?? "");
    expect(json.map((m) => m.name)).toEqual(toolNames);
    const names = json.map((m) => m.name);
    expect(names).toContain("SHA256-RSA-PKCS");
    expect(names).toContain("RSA-PKCS-PSS");
    expect(names).not.toContain("SHA256-RSA-PKCS-PSS");
    expect(names).not.toContain("EC-EDWARDS-KEY-PAIR-GEN");
    expect(names).not.toContain("AES-CBC");
    expect(json.find((m) => m.name === "ECDSA")?.flags).toEqual(
      expect.arrayContaining(["CKF_SIGN", "CKF_VERIFY"]),
    );
  });

  it("says the token does not offer AES-GCM or AES-CBC-PAD for encrypt, nor ECDH for derive", async () => {
    ok(
      await client(forwarded, [
        "keygen",
        ...login,
        "--key-type",
        "aes:256",
        "--label",
        "remote-aes",
      ]),
    );
    for (const mechanism of ["AES-GCM", "AES-CBC-PAD"]) {
      const result = await client(
        forwarded,
        ["encrypt", ...login, "-i", "remote-aes", "-m", mechanism],
        Buffer.from("data"),
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^tsp11: the token does not offer ${mechanism};`));
      expect(result.stdout).toBe("");
    }
    ok(
      await client(forwarded, [
        "keygen",
        ...login,
        "--key-type",
        "ec:prime256v1",
        "--label",
        "remote-ecdh",
        "--usage",
        "derive",
      ]),
    );
    await writeFile(store.path("peer.pub"), ec.publicKeyPem);
    const derive = await client(forwarded, [
      "derive",
      ...login,
      "--key",
      "remote-ecdh",
      "--peer",
      store.path("peer.pub"),
      "--key-type",
      "aes:128",
      "--label",
      "never",
    ]);
    expect(derive.code).toBe(2);
    expect(derive.stderr).toMatch(/does not offer CKM_ECDH1_DERIVE/);
  });

  it("makes CSRs, writes the issued certificate, and signs with host-side hashing", async () => {
    const rsaCsr = store.path("rk.csr");
    ok(
      await client(forwarded, ["req", ...login, "-i", "rk", "-d", "/CN=remote rsa", "-o", rsaCsr]),
    );
    await openssl(store, ["req", "-in", rsaCsr, "-verify", "-noout"]);
    const pssCsr = store.path("rk-pss.csr");
    ok(
      await client(forwarded, [
        "req",
        ...login,
        "-i",
        "rk",
        "-d",
        "/CN=pss",
        "--pss",
        "-o",
        pssCsr,
      ]),
    );
    await openssl(store, ["req", "-in", pssCsr, "-verify", "-noout"]);
    const ecCsr = store.path("ek.csr");
    ok(await client(forwarded, ["req", ...login, "-i", "ek", "-d", "CN=remote ec", "-o", ecCsr]));
    await openssl(store, ["req", "-in", ecCsr, "-verify", "-noout"]);

    const ca = await makeCa(store);
    const cert = store.path("rk.crt");
    await issue(store, ca, rsaCsr, cert);
    const written = JSON.parse(
      ok(
        await client(forwarded, ["write-object", ...login, "--type", "cert", "-f", cert, "--json"]),
      ).stdout,
    ) as { id: string; label: string };
    expect(written).toMatchObject({ id: rsa.id, label: "rk" });
    const certs = ok(
      await client(forwarded, ["list-objects", ...login, "--type", "cert", "--json"]),
    );
    expect(JSON.parse(certs.stdout)).toMatchObject([{ subject: "CN=remote rsa", id: rsa.id }]);

    const data = store.path("data.txt");
    await writeFile(data, "signed through p11-kit\n");
    const rsaPem = store.path("rk.pub.pem");
    const ecPem = store.path("ek.pub.pem");
    await writeFile(rsaPem, rsa.publicKeyPem);
    await writeFile(ecPem, ec.publicKeyPem);
    ok(
      await client(forwarded, [
        "write-object",
        ...login,
        "--type",
        "pubkey",
        "-f",
        ecPem,
        "--label",
        "copy",
        "--id",
        "99",
      ]),
    );
    ok(
      await client(forwarded, [
        "write-object",
        ...login,
        "--type",
        "data",
        "-f",
        data,
        "--label",
        "notes",
      ]),
    );
    const stored = JSON.parse(
      ok(await client(forwarded, ["list-objects", ...login, "--json"])).stdout,
    ) as { class: string; label: string }[];
    expect(stored.map((o) => `${o.class}:${o.label}`)).toEqual(
      expect.arrayContaining(["public-key:copy", "data:notes"]),
    );
    // SHA256-RSA-PKCS on the token; ECDSA-SHA256 and SHA256-RSA-PKCS-PSS hashed on the host.
    const runs: [string[], string, string[]][] = [
      [["-i", "rk"], rsaPem, []],
      [["-i", "ek"], ecPem, []],
      [
        ["-i", "rk", "-m", "SHA256-RSA-PKCS-PSS"],
        rsaPem,
        ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"],
      ],
    ];
    for (const [args, pem, sigopt] of runs) {
      const sig = store.path(`sig-${args.join("")}`);
      const signed = ok(
        await client(forwarded, [
          "sign",
          ...login,
          ...args,
          "--input",
          data,
          "--output",
          sig,
          "-v",
        ]),
      );
      if (args.includes("ek") || args.includes("SHA256-RSA-PKCS-PSS")) {
        expect(signed.stderr).toMatch(/hashing with sha256 on the host/);
      }
      await openssl(store, ["dgst", "-sha256", ...sigopt, "-verify", pem, "-signature", sig, data]);
    }
    // The key in the certificate is the token's.
    expect(createPublicKey(rsa.publicKeyPem).export({ format: "der", type: "spki" })).toEqual(
      createPublicKey(
        (await openssl(store, ["x509", "-in", cert, "-noout", "-pubkey"])).stdout,
      ).export({ format: "der", type: "spki" }),
    );
  });

  it("reports a server that dies mid-session as unreachable, leaves no file, and recovers", async () => {
    const sig = store.path("interrupted.sig");
    const child = spawn(process.execPath, [BIN, "sign", ...login, "-i", "rk", "--output", sig], {
      env: cleanEnv({ P11_KIT_SERVER_ADDRESS: forwarded.address, TSP11_HOME: home }),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const stderr: Buffer[] = [];
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    child.stdin.on("error", () => undefined);
    // 1 MiB is far more than a pipe holds: once it is written, tsp11 is reading its input
    // inside C_SignInit ... C_SignUpdate, i.e. mid-session.
    const chunk = Buffer.alloc(1 << 20, 0x61);
    await new Promise<void>((resolve) =>
      child.stdin.write(chunk, () => {
        resolve();
      }),
    );
    await forwarded.stop();
    child.stdin.end(chunk);
    expect(await exited).toBe(1);
    const message = Buffer.concat(stderr).toString("utf8");
    expect(message).toBe(
      `tsp11: sign: the token is unreachable or failed: lost the connection to the p11-kit server at ${forwarded.address} (CKR_DEVICE_ERROR)\n`,
    );
    expect(existsSync(sig)).toBe(false);

    // Nothing listens now: zero slots, and tsp11 says where the server should be.
    const slots = await client(forwarded, ["list-slots"]);
    expect(slots.code).toBe(0);
    expect(slots.stdout).toBe("");
    expect(slots.stderr).toBe(
      `tsp11: warning: no slots: is the p11-kit server at ${forwarded.address} running?\n`,
    );
    const objects = await client(forwarded, ["list-objects", ...login]);
    expect(objects.code).toBe(3);
    expect(objects.stderr).toBe(
      `tsp11: select token: no slots with a token in ${P11KIT_CLIENT}: is the p11-kit server at ${forwarded.address} running?\n`,
    );

    // A server back on the same socket: the next command works.
    forwarded = await startP11KitServer(
      forwarded.socket,
      SOFTHSM,
      [`pkcs11:token=${LABEL}`],
      cleanEnv({ SOFTHSM2_CONF: store.env.SOFTHSM2_CONF }),
    );
    const again = ok(
      await client(forwarded, ["sign", ...login, "-i", "rk", "--output", sig], Buffer.from("x")),
    );
    expect(again.stderr).toBe("");
    expect(existsSync(sig)).toBe(true);
  });

  it("says so when no server was ever there, and when the address is not set", async () => {
    const nowhere = `unix:path=${join(store.dir, "nobody.sock")}`;
    const slots = await client(nowhere, ["list-slots", "--json"]);
    expect(slots.code).toBe(0);
    expect(JSON.parse(slots.stdout)).toEqual([]);
    expect(slots.stderr).toBe(
      `tsp11: warning: no slots: is the p11-kit server at ${nowhere} running?\n`,
    );
    const init = await client(nowhere, ["init-token", "--label", "x", "--so-pin", SO_PIN]);
    expect(init.code).toBe(3);
    expect(init.stderr).toMatch(
      /^tsp11: init-token: no slots with a token in .*p11-kit-client\.so: is the p11-kit server at .* running\?\n$/,
    );
    const unset = await runCommand(
      process.execPath,
      [BIN, "list-slots", "--module", P11KIT_CLIENT],
      {
        env: cleanEnv({ TSP11_HOME: home }),
      },
    );
    expect(unset.code).toBe(0);
    expect(unset.stderr).toBe(
      "tsp11: warning: no slots: P11_KIT_SERVER_ADDRESS is not set (p11-kit-client.so needs a server)\n",
    );
  });
});
