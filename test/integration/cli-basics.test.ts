/** The program itself: bare `tsp11`, `tsp11 version`, `--version`. No token is needed. */
import { describe, expect, it } from "vitest";
import { BIN, cleanEnv, runCommand } from "../helpers/softhsm.js";
import { VERSION } from "../../src/version.js";

const run = (args: string[]) => runCommand(BIN, args, { env: cleanEnv() });

describe("the program", () => {
  it("prints its help on stdout and succeeds when run bare", async () => {
    const result = await run([]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: tsp11 \[options\] \[command\]\n/);
    expect(result.stdout).toContain("\n  list-slots");
    expect(result.stdout).toContain("\n  version");
    expect(result.stderr).toBe("");
  });

  it("tells its version as a command, as JSON, and as --version", async () => {
    const human = await run(["version"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      new RegExp(
        `^tsp11 ${VERSION.replaceAll(".", "\\.")} \\(Node\\.js ${process.versions.node}, [^\n]+\\)\n$`,
      ),
    );
    const json = await run(["version", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({
      version: VERSION,
      node: process.versions.node,
      start: expect.stringMatching(/^(code-cache|node-compile-cache|compiled)$/) as unknown,
    });
    const flag = await run(["--version"]);
    expect(flag.stdout).toBe(`${VERSION}\n`);
  });
});
