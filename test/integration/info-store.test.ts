/**
 * `tsp11 info` names the SoftHSM2 store a run uses, and the SOFTHSM2_CONF by which other
 * tools see the same tokens: checked by pkcs11-tool listing a token tsp11 made.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BIN,
  cleanEnv,
  runCommand,
  SO_PIN,
  SOFTHSM,
  softhsmAvailable,
} from "../helpers/softhsm.js";

const available = softhsmAvailable();

interface InfoJson {
  module: string;
  softhsm2?: { conf: string; tokenDir: string | undefined; embedded: boolean };
}

describe.skipIf(!available)("info: the SoftHSM2 token store", () => {
  it("names tsp11's own store, and pkcs11-tool sees its tokens through that config", async () => {
    const home = await mkdtemp(join(tmpdir(), "tsp11-store-"));
    const env = cleanEnv({ TSP11_HOME: home });
    const init = await runCommand(
      BIN,
      ["init-token", "--label", "seen-elsewhere", "--so-pin", SO_PIN],
      { env },
    );
    expect(init.code).toBe(0);
    const result = await runCommand(BIN, ["info", "--json"], { env });
    expect(result.code).toBe(0);
    const info = JSON.parse(result.stdout) as InfoJson;
    expect(info.softhsm2).toEqual({
      conf: join(home, "softhsm2.conf"),
      tokenDir: join(home, "tokens"),
      embedded: true,
    });
    const human = await runCommand(BIN, ["info"], { env });
    const hint = /^other tools +SOFTHSM2_CONF=(\S+) pkcs11-tool --module (\S+) -L$/m.exec(
      human.stdout,
    );
    expect(hint?.[1]).toBe(join(home, "softhsm2.conf"));
    const listed = await runCommand("pkcs11-tool", ["--module", hint?.[2] ?? "", "-L"], {
      env: cleanEnv({ SOFTHSM2_CONF: hint?.[1] }),
    });
    expect(listed.stdout).toMatch(/token label\s+: seen-elsewhere/);
  });

  it("reports a user's SOFTHSM2_CONF as not tsp11's own", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tsp11-userconf-"));
    const conf = join(dir, "softhsm2.conf");
    await writeFile(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\n`);
    const result = await runCommand(BIN, ["info", "--json"], {
      env: cleanEnv({ TSP11_HOME: join(dir, "home"), SOFTHSM2_CONF: conf }),
    });
    expect((JSON.parse(result.stdout) as InfoJson).softhsm2).toEqual({
      conf,
      tokenDir: dir,
      embedded: false,
    });
  });

  it("says nothing of SoftHSM2 for another module", async () => {
    const result = await runCommand(
      BIN,
      ["--module", "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so", "info", "--json"],
      { env: cleanEnv() },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).not.toHaveProperty("softhsm2");
    expect(SOFTHSM).toMatch(/libsofthsm2\.so$/);
  });
});
