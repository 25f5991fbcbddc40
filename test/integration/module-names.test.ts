/**
 * `--module` by name: a bare file name found in the system's PKCS#11 directories, a name
 * registered with p11-kit, and a name that resolves to nothing (exit 3, where it looked).
 */
import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, cleanEnv, runCommand, softhsmAvailable } from "../helpers/softhsm.js";

const available = softhsmAvailable();

interface ErrorJson {
  error: { exit: number; message: string };
}

async function info(module: string, env: NodeJS.ProcessEnv = {}) {
  const home = await mkdtemp(join(tmpdir(), "tsp11-modname-"));
  return runCommand(BIN, ["--module", module, "info", "--json"], {
    env: cleanEnv({ TSP11_HOME: home, ...env }),
  });
}

describe.skipIf(!available)("--module by name", () => {
  it("finds a bare file name in the system's PKCS#11 directories", async () => {
    const result = await info("libsofthsm2.so");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      manufacturer: "SoftHSM",
      module: "/usr/lib/softhsm/libsofthsm2.so",
    });
  });

  it("finds a module by the name p11-kit registers it under", async () => {
    const config = await mkdtemp(join(tmpdir(), "tsp11-p11kit-conf-"));
    await mkdir(join(config, "pkcs11/modules"), { recursive: true });
    await writeFile(
      join(config, "pkcs11/modules/my-hsm.module"),
      "# a user's registration\nmodule: libsofthsm2.so\ncritical: no\n",
    );
    const result = await info("my-hsm", { XDG_CONFIG_HOME: config });
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { module: string }).module).toBe(
      "/usr/lib/softhsm/libsofthsm2.so",
    );
  });

  it("says where it looked when a name resolves to nothing (exit 3)", async () => {
    const result = await info("no-such-module.so");
    expect(result.code).toBe(3);
    expect(result.stdout).toBe("");
    const { error } = JSON.parse(result.stderr) as ErrorJson;
    expect(error.exit).toBe(3);
    expect(error.message).toMatch(
      /^load module: no PKCS#11 module named no-such-module\.so \(looked in .*\/usr\/lib\/softhsm.*p11-kit registered name\)$/,
    );
  });

  it("still takes a path as it is", async () => {
    const result = await info("/nonexistent/libx.so");
    expect(result.code).toBe(3);
    expect((JSON.parse(result.stderr) as ErrorJson).error.message).toBe(
      "load module: no PKCS#11 module at /nonexistent/libx.so",
    );
  });
});
