/**
 * OpenSC's module with no reader (no pcscd): C_Initialize works and the slot list is empty.
 * Listing says so and succeeds; anything that needs a token fails with exit 3 naming the
 * module.
 */
import { describe, expect, it } from "vitest";
import { componentsAvailable, OPENSC } from "../helpers/modules.js";
import type { RunResult } from "../helpers/softhsm.js";
import { BIN, cleanEnv, PIN, runCommand, SO_PIN } from "../helpers/softhsm.js";

const available = componentsAvailable("the OpenSC suite", [OPENSC, "pkcs11-tool"]);

function tsp11(args: string[]): Promise<RunResult> {
  return runCommand(process.execPath, [BIN, ...args], {
    env: cleanEnv({ TSP11_MODULE: OPENSC, PCSCLITE_CSOCK_NAME: "/nonexistent/pcscd.comm" }),
  });
}

describe.skipIf(!available)("OpenSC with no reader and no card", () => {
  it("lists no slots and exits 0, saying so on stderr (pkcs11-tool: 'No slots.', exit 1)", async () => {
    const tool = await runCommand("pkcs11-tool", ["--module", OPENSC, "-L"], {
      env: cleanEnv({ PCSCLITE_CSOCK_NAME: "/nonexistent/pcscd.comm" }),
    });
    expect(tool.stderr).toContain("No slots.");
    const table = await tsp11(["list-slots", "--all"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe("");
    expect(table.stderr).toBe(`tsp11: warning: no slots in ${OPENSC}\n`);
    const json = await tsp11(["list-slots", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it("fails with exit 3 naming the module when a token is needed", async () => {
    const message = `no slots with a token in ${OPENSC}`;
    const runs: [string[], string][] = [
      [["list-objects"], `tsp11: select token: ${message}\n`],
      [["list-objects", "--token-label", "card"], `tsp11: select token: ${message}\n`],
      [
        ["keygen", "--pin", PIN, "--key-type", "ec:prime256v1", "--label", "k"],
        `tsp11: select token: ${message}\n`,
      ],
      [["list-mechanisms"], `tsp11: select token: ${message}\n`],
      [["init-token", "--label", "card", "--so-pin", SO_PIN], `tsp11: init-token: ${message}\n`],
    ];
    for (const [args, stderr] of runs) {
      const result = await tsp11(args);
      expect(result.code, args.join(" ")).toBe(3);
      expect(result.stdout).toBe("");
      expect(result.stderr).toBe(stderr);
    }
    const json = await tsp11(["list-objects", "--json"]);
    expect(JSON.parse(json.stderr)).toEqual({
      error: { code: "not-found", exit: 3, message: `select token: ${message}`, kind: "not-found" },
    });
  });
});
