/**
 * The foundation against a real SoftHSM2: module loading, token selection, PIN sources,
 * error rendering, and the embedded default store.
 */
import { existsSync, readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { BIN, initToken, PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

describe.skipIf(!available)("module loading", () => {
  it("names a missing module file and exits 3", async () => {
    await using token = await tempToken();
    const result = await token.tsp11(["list-slots", "--module", "/nonexistent/libp11.so"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe("tsp11: load module: no PKCS#11 module at /nonexistent/libp11.so\n");
    expect(result.stdout).toBe("");
  });

  it("exits 5 with the loader's reason for a library that is not a PKCS#11 module", async () => {
    await using token = await tempToken();
    const notAModule = "/usr/lib/x86_64-linux-gnu/libz.so.1";
    const result = await token.tsp11(["list-slots", "--module", notAModule]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(
      new RegExp(`^tsp11: load module ${notAModule}: .*C_GetFunctionList`),
    );
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("renders errors as the contract's JSON object under --json", async () => {
    await using token = await tempToken();
    const result = await token.tsp11(["list-slots", "--json", "--module", "/nonexistent.so"]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe("");
    expect(JSON.parse(result.stderr)).toEqual({
      error: {
        code: "not-found",
        exit: 3,
        message: "load module: no PKCS#11 module at /nonexistent.so",
        kind: "not-found",
      },
    });
  });

  it("says the kind of every JSON error, and the CKR name when a PKCS#11 call failed", async () => {
    await using token = await tempToken();
    const wrongPin = await token.tsp11(["list-objects", "--json", "--pin", "0000"]);
    expect(wrongPin.code).toBe(4);
    expect(JSON.parse(wrongPin.stderr)).toEqual({
      error: {
        code: "CKR_PIN_INCORRECT",
        exit: 4,
        message: expect.stringMatching(/ \(CKR_PIN_INCORRECT\)$/) as unknown,
        kind: "auth",
        ckr: "CKR_PIN_INCORRECT",
      },
    });
    const usage = await token.tsp11(["list-objects", "--json", "--frobnicate"]);
    expect(usage.code).toBe(2);
    const { error } = JSON.parse(usage.stderr) as { error: Record<string, unknown> };
    expect(error).toMatchObject({ code: "usage", exit: 2, kind: "usage" });
    expect(error).not.toHaveProperty("ckr");
  });

  it("treats unknown options as usage errors (exit 2)", async () => {
    await using token = await tempToken();
    const result = await token.tsp11(["list-slots", "--frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tsp11: unknown option '--frobnicate'/);
  });
});

describe.skipIf(!available)("-v trace", () => {
  it("prints slot and session handles as the numbers they are", async () => {
    await using token = await tempToken();
    const [slot] = JSON.parse((await token.tsp11(["list-slots", "--json"])).stdout) as {
      slot: number;
    }[];
    if (!slot) throw new Error("no slot");
    // SoftHSM's slot ids are large (0x2c204dad): their bytes in memory order read differently.
    const hex = `0x${slot.slot.toString(16)}`;
    const slots = await token.tsp11(["list-slots", "-v"]);
    expect(slots.stderr).toContain(`tsp11: trace: C_GetSlotInfo(${hex}) -> CKR_OK`);
    expect(slots.stdout).toContain(hex);
    const objects = await token.tsp11(["list-objects", "--pin", PIN, "-v"]);
    expect(objects.stderr).toMatch(new RegExp(`C_OpenSession\\(${hex}, \\d+\\) -> CKR_OK`));
    // SoftHSM numbers sessions from 1.
    expect(objects.stderr).toContain("C_Login(0x1, 1, ***) -> CKR_OK");
  });
});

describe.skipIf(!available)("token selection", () => {
  it("uses the only initialized token, and names all of them when there are several", async () => {
    await using token = await tempToken({ label: "alpha" });
    expect((await token.tsp11(["list-objects"])).code).toBe(0);
    await initToken(token, "beta");
    const result = await token.tsp11(["list-objects"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /several tokens.*"alpha".*"beta"|several tokens.*"beta".*"alpha"/,
    );
    expect((await token.tsp11(["list-objects", "--token-label", "beta"])).code).toBe(0);
    expect((await token.tsp11(["list-objects", "--token", "beta"])).code).toBe(0);
    expect((await token.tsp11(["list-objects"], { env: { TSP11_TOKEN: "alpha" } })).code).toBe(0);
  });

  it("selects by serial, slot and URI, and exits 3 when nothing matches", async () => {
    await using token = await tempToken({ label: "gamma" });
    const [slot] = JSON.parse((await token.tsp11(["list-slots", "--json"])).stdout) as {
      slot: number;
      token: { serial: string; uri: string };
    }[];
    if (!slot) throw new Error("no slot");
    for (const selector of [
      ["--serial", slot.token.serial],
      ["--slot", String(slot.slot)],
      ["--slot", `0x${slot.slot.toString(16)}`],
      ["--uri", slot.token.uri],
    ]) {
      expect((await token.tsp11(["list-objects", ...selector])).code).toBe(0);
    }
    const missing = await token.tsp11(["list-objects", "--token-label", "nope"]);
    expect(missing.code).toBe(3);
    // The error names the tokens that do exist.
    expect(missing.stderr).toMatch(
      /^tsp11: select token \(label "nope"\): no token matches; the token is "[^"]+" \(slot 0x[0-9a-f]+, serial [0-9a-f]+\)\n$/,
    );
  });
});

describe.skipIf(!available)("PINs", () => {
  it("exits 4 when a login is needed and there is no PIN and no terminal", async () => {
    await using token = await tempToken();
    const result = await token.tsp11(["keygen", "--key-type", "ec:P-256", "--label", "k"]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/a PIN is needed and none was given/);
  });

  it("takes the PIN from --pin-file, TSP11_PIN and env:NAME, and never prints it", async () => {
    const pin = "pin-7f3e9a";
    await using token = await tempToken({ pin });
    const pinFile = token.path("pin.txt");
    await writeFile(pinFile, `${pin}\n`);
    const runs = [
      await token.tsp11(["list-objects", "--pin-file", pinFile, "-v"]),
      await token.tsp11(["list-objects", "-v"], { env: { TSP11_PIN: pin } }),
      await token.tsp11(["list-objects", "--pin", "env:MY_PIN", "-v"], { env: { MY_PIN: pin } }),
    ];
    for (const run of runs) {
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/C_Login\(0x[0-9a-f]+, 1, \*\*\*\) -> CKR_OK/);
      expect(run.stdout + run.stderr).not.toContain(pin);
    }
  });

  it("reports a wrong PIN with exit 4 and the CKR name, without the PIN", async () => {
    await using token = await tempToken();
    const wrong = "99999999";
    for (const json of [false, true]) {
      const result = await token.tsp11([
        "keygen",
        "--key-type",
        "ec:P-256",
        "--label",
        "k",
        "--pin",
        wrong,
        "-v",
        ...(json ? ["--json"] : []),
      ]);
      expect(result.code).toBe(4);
      expect(result.stdout + result.stderr).not.toContain(wrong);
      if (json) expect(result.stderr).toMatch(/"code":"CKR_PIN_INCORRECT","exit":4/);
      else
        expect(result.stderr).toMatch(
          /^tsp11: log in to token "test": incorrect PIN \(CKR_PIN_INCORRECT\)$/m,
        );
    }
    const listed = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(listed.stdout).not.toMatch(/Private Key Object/);
  });
});

describe.skipIf(!available)("Ctrl-C", () => {
  it("releases the token and exits 130, leaving no output file", async () => {
    await using token = await tempToken();
    expect(
      (await token.tsp11(["keygen", "--key-type", "ec:P-256", "--label", "k", "--pin", PIN])).code,
    ).toBe(0);
    const output = token.path("out.sig");
    // A writer that stays idle: the signature is still being streamed when Ctrl-C comes.
    const child = spawn(
      process.execPath,
      [BIN, "sign", "-i", "k", "--pin", PIN, "--output", output, "-v"],
      {
        env: token.env,
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.write("partial input");
    await vi.waitFor(() => {
      expect(stderr).toMatch(/C_Login\(.*\) -> CKR_OK/);
    }, 10_000);
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(
      /C_CloseSession\(.*\) -> CKR_OK[\s\S]*C_Finalize\(\) -> CKR_OK[\s\S]*tsp11: interrupted/,
    );
    expect(await readdir(token.dir)).not.toContain("out.sig");
    expect((await readdir(token.dir)).filter((name) => name.includes("out.sig"))).toEqual([]);
    expect((await token.tsp11(["list-objects", "--pin", PIN])).code).toBe(0);
  });
});

describe.skipIf(!available)("embedded default store", () => {
  it("writes its own softhsm2.conf under TSP11_HOME on first use", async () => {
    await using token = await tempToken({ init: false });
    const home = join(token.dir, "fresh-home");
    const env = { SOFTHSM2_CONF: undefined, TSP11_HOME: home };
    const init = await token.tsp11(
      ["init-token", "--label", "demo", "--so-pin", "12345678", "--pin", PIN],
      { env },
    );
    expect(init.code).toBe(0);
    const conf = readFileSync(join(home, "softhsm2.conf"), "utf8");
    expect(conf).toContain(`directories.tokendir = ${join(home, "tokens")}`);
    expect(existsSync(join(home, "tokens"))).toBe(true);
    const keygen = await token.tsp11(
      ["keygen", "--key-type", "ec:P-256", "--label", "k", "--pin", PIN],
      { env },
    );
    expect(keygen.code).toBe(0);
  });
});
