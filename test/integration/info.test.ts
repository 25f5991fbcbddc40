/**
 * `tsp11 info` (C_GetInfo, no token needed) and `tsp11 list-mechanisms` (per token, no
 * login), checked against pkcs11-tool -I and -M on the same modules.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { componentsAvailable, OPENSC, P11KIT_CLIENT } from "../helpers/modules.js";
import type { RunResult } from "../helpers/softhsm.js";
import {
  BIN,
  cleanEnv,
  initToken,
  runCommand,
  SOFTHSM,
  softhsmAvailable,
  tempToken,
} from "../helpers/softhsm.js";

const available = softhsmAvailable();
const openscAvailable = available && componentsAvailable("the info suite", [OPENSC, P11KIT_CLIENT]);

interface MechanismJson {
  name: string;
  id: number;
  minKeySize: number;
  maxKeySize: number;
  flags: string[];
}

/** pkcs11-tool -M's words for the mechanism flags, in its order. */
const TOOL_FLAGS: Record<string, string> = {
  CKF_HW: "hw",
  CKF_ENCRYPT: "encrypt",
  CKF_DECRYPT: "decrypt",
  CKF_DIGEST: "digest",
  CKF_SIGN: "sign",
  CKF_SIGN_RECOVER: "sign_recover",
  CKF_VERIFY: "verify",
  CKF_VERIFY_RECOVER: "verify_recover",
  CKF_GENERATE: "generate",
  CKF_GENERATE_KEY_PAIR: "generate_key_pair",
  CKF_WRAP: "wrap",
  CKF_UNWRAP: "unwrap",
  CKF_DERIVE: "derive",
  CKF_EC_F_P: "EC F_P",
  CKF_EC_F_2M: "EC F_2M",
  CKF_EC_ECPARAMETERS: "EC parameters",
  CKF_EC_NAMEDCURVE: "EC OID",
  CKF_EC_UNCOMPRESS: "EC uncompressed",
  CKF_EC_COMPRESS: "EC compressed",
};

/** A list-mechanisms item as the line pkcs11-tool -M prints for it. */
function asToolLine(mechanism: MechanismJson, toolNames: Set<string>): string {
  const unknown = `mechtype-0x${mechanism.id.toString(16).toUpperCase()}`;
  const parts = [toolNames.has(unknown) ? unknown : mechanism.name];
  if (mechanism.minKeySize !== 0 || mechanism.maxKeySize !== 0) {
    parts.push(`keySize={${mechanism.minKeySize},${mechanism.maxKeySize}}`);
  }
  for (const flag of mechanism.flags) parts.push(TOOL_FLAGS[flag] ?? flag);
  return parts.join(", ");
}

function ok(result: RunResult): RunResult {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  return result;
}

describe.skipIf(!available)("info", () => {
  it("reports C_GetInfo as the contract's JSON, as pkcs11-tool -I does, with no token", async () => {
    await using token = await tempToken({ init: false });
    const json = JSON.parse(ok(await token.tsp11(["info", "--json"])).stdout) as unknown;
    expect(json).toEqual({
      cryptokiVersion: "2.40",
      manufacturer: "SoftHSM",
      libraryDescription: "Implementation of PKCS11",
      libraryVersion: "2.6",
      module: SOFTHSM,
      softhsm2: {
        conf: join(token.dir, "softhsm2.conf"),
        tokenDir: join(token.dir, "tokens"),
        embedded: false,
      },
    });
    const tool = ok(await token.pkcs11Tool(["-I"])).stdout;
    expect(tool).toContain("Cryptoki version 2.40\n");
    expect(tool).toContain("Library          Implementation of PKCS11 (ver 2.6)\n");
    const human = ok(await token.tsp11(["info"])).stdout;
    expect(human).toBe(
      [
        `module        ${SOFTHSM}`,
        "cryptoki      2.40",
        "manufacturer  SoftHSM",
        "library       Implementation of PKCS11 (version 2.6)",
        "interfaces    none (no C_GetInterfaceList: a PKCS#11 2.x module)",
        `token store   ${join(token.dir, "tokens")} (SoftHSM2's config)`,
        `config        ${join(token.dir, "softhsm2.conf")}`,
        `other tools   SOFTHSM2_CONF=${join(token.dir, "softhsm2.conf")} pkcs11-tool --module ${SOFTHSM} -L`,
        "",
      ].join("\n"),
    );
  });

  it.skipIf(!openscAvailable)(
    "says when a module has PKCS#11 3.0 interfaces pkcs11js cannot list (OpenSC)",
    async () => {
      const env = cleanEnv({});
      const json = JSON.parse(
        ok(await runCommand(process.execPath, [BIN, "info", "--module", OPENSC, "--json"], { env }))
          .stdout,
      ) as Record<string, string>;
      // Through C_GetFunctionList (all pkcs11js uses) OpenSC says 2.20; pkcs11-tool -I,
      // which asks C_GetInterface, says 3.0.
      expect(json).toMatchObject({
        cryptokiVersion: "2.20",
        manufacturer: "OpenSC Project",
        module: OPENSC,
      });
      const tool = await runCommand("pkcs11-tool", ["--module", OPENSC, "-I"], { env });
      expect(tool.stdout).toContain("Cryptoki version 3.0\n");
      const human = ok(
        await runCommand(process.execPath, [BIN, "info", "--module", OPENSC], { env }),
      );
      expect(human.stdout).toMatch(
        /\ninterfaces {4}the module has PKCS#11 3\.0 interfaces \(C_GetInterfaceList\), which pkcs11js 2\.1\.7 cannot list/,
      );
    },
  );

  it("exits 3 for a module file that does not exist", async () => {
    await using token = await tempToken({ init: false });
    const result = await token.tsp11(["info", "--module", "/nonexistent/module.so"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe("tsp11: load module: no PKCS#11 module at /nonexistent/module.so\n");
  });
});

describe.skipIf(!available)("list-mechanisms", () => {
  it("lists what pkcs11-tool -M lists: names, key sizes and flags, in the module's order", async () => {
    await using token = await tempToken();
    const json = JSON.parse(
      ok(await token.tsp11(["list-mechanisms", "--json"])).stdout,
    ) as MechanismJson[];
    const tool = ok(await token.pkcs11Tool(["-M"])).stdout;
    const toolLines = tool
      .split("\n")
      .filter((line) => line.startsWith("  "))
      .map((line) => line.trim());
    const toolNames = new Set(toolLines.map((line) => line.split(",")[0] ?? ""));
    expect(json.map((m) => asToolLine(m, toolNames))).toEqual(toolLines);
    // pkcs11-tool's names, and 0x hex for a value pkcs11-tool does not name either.
    expect(json.find((m) => m.id === 0x40)).toEqual({
      name: "SHA256-RSA-PKCS",
      id: 0x40,
      minKeySize: 512,
      maxKeySize: 16384,
      flags: ["CKF_SIGN", "CKF_VERIFY"],
    });
    expect(json.find((m) => m.id === 0x1040)?.name).toBe("ECDSA-KEY-PAIR-GEN");
    expect(json.find((m) => m.id === 0x1057)?.name).toBe("EDDSA");
    expect(Object.keys(json[0] ?? {})).toEqual(["name", "id", "minKeySize", "maxKeySize", "flags"]);
    const table = ok(await token.tsp11(["list-mechanisms"])).stdout;
    expect(table).toContain("SHA256-RSA-PKCS\t0x40\t512..16384\tsign,verify\n");
  });

  it("selects the token as every command does, and needs no login", async () => {
    await using token = await tempToken({ label: "one" });
    await initToken(token, "two");
    const ambiguous = await token.tsp11(["list-mechanisms"]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/several tokens/);
    ok(await token.tsp11(["list-mechanisms", "--token-label", "two"]));
    const missing = await token.tsp11(["list-mechanisms", "--token-label", "three"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(
      /^tsp11: select token \(label "three"\): no token matches; the tokens are (?=.*"one")(?=.*"two").*\n$/,
    );
    // A named slot may hold an uninitialized token: its mechanisms are listed all the same.
    const slots = JSON.parse(ok(await token.tsp11(["list-slots", "--all", "--json"])).stdout) as {
      slot: number;
      token: { initialized: boolean };
    }[];
    const free = slots.find((s) => !s.token.initialized);
    if (!free) throw new Error("no free slot");
    ok(await token.tsp11(["list-mechanisms", "--slot", String(free.slot)]));
  });
});
