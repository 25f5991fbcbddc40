/**
 * A run of a named command defines that command alone (start-up); help and typos get every
 * command, so listings and suggestions stay whole. The registry and the whole program agree.
 */
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../../src/cli.js";
import { COMMAND_LOADERS, COMMAND_NAMES } from "../../../src/commands/registry.js";
import { commandNamed, globalOptions } from "../../../src/program.js";

const options = globalOptions();

describe("commandNamed", () => {
  it.each([
    [["list-slots"], "list-slots"],
    [["--json", "keygen", "--label", "k"], "keygen"],
    [["--module", "/usr/lib/x.so", "list-objects"], "list-objects"],
    [["-t", "sign", "info"], "info"],
    [["--token-label=demo", "sign", "a.bin"], "sign"],
    [["-p", "list-slots", "req"], "req"],
    [["-v", "-q", "serve"], "serve"],
  ])("%j names %s", (argv, name) => {
    expect(commandNamed(argv, options, COMMAND_NAMES)).toBe(name);
  });

  it.each([
    [[]],
    [["--help"]],
    [["help", "keygen"]],
    [["keygn"]],
    [["--", "keygen"]],
    [["--module"]],
  ])("%j names no command", (argv) => {
    expect(commandNamed(argv, options, COMMAND_NAMES)).toBeUndefined();
  });
});

describe("the registry", () => {
  it("loads each command under its own name, in the order the whole program lists them", async () => {
    const all = (await buildProgram()).commands.map((command) => command.name());
    expect(all).toEqual(COMMAND_NAMES);
    for (const name of COMMAND_NAMES) {
      const define = await COMMAND_LOADERS[name]();
      expect(define().name()).toBe(name);
    }
  });

  it("hides only the completion scripts' helper from help", async () => {
    const hidden = (await buildProgram()).commands
      .filter((command) => (command as unknown as { _hidden: boolean })._hidden)
      .map((command) => command.name());
    expect(hidden).toEqual(["__complete"]);
  });
});
