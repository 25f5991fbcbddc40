/**
 * buildProgram defines only the command the arguments name (start-up), and every command
 * when they name none, so help and suggestions stay whole.
 */
import { describe, expect, it } from "vitest";
import { buildProgram, commandNamed } from "../../../src/cli.js";

const options = buildProgram().options;

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
    expect(commandNamed(argv, options)).toBe(name);
  });

  it.each([
    [[]],
    [["--help"]],
    [["help", "keygen"]],
    [["keygn"]],
    [["--", "keygen"]],
    [["--module"]],
  ])("%j names no command", (argv) => {
    expect(commandNamed(argv, options)).toBeUndefined();
  });
});

describe("buildProgram", () => {
  it("defines every command without arguments, and for help or a typo", () => {
    const all = buildProgram().commands.map((command) => command.name());
    expect(all).toEqual(
      expect.arrayContaining([
        "list-slots",
        "init-token",
        "keygen",
        "version",
        "encrypt",
        "wrap",
        "edit-object",
      ]),
    );
    expect(buildProgram(["--help"]).commands.map((command) => command.name())).toEqual(all);
    expect(buildProgram(["keygn"]).commands.map((command) => command.name())).toEqual(all);
  });

  it("defines only the named command", () => {
    const program = buildProgram(["--module", "m.so", "list-objects", "--type", "cert"]);
    expect(program.commands.map((command) => command.name())).toEqual(["list-objects"]);
  });
});
