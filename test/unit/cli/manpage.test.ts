/**
 * The man page must document every command and every option that --help prints (OpenSC's
 * test-manpage.sh idea): a new option without documentation fails here.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../../src/cli.js";

const man = readFileSync(new URL("../../../man/tsp11.1", import.meta.url), "utf8").replace(
  /\\-/g,
  "-",
);

function visibleLongFlags(command: Command): string[] {
  const help = command.createHelp();
  return help
    .visibleOptions(command)
    .map((option) => option.long)
    .filter(
      (flag): flag is string => flag !== undefined && flag !== "--help" && flag !== "--version",
    );
}

const program = buildProgram();

describe("option names", () => {
  // Global options are recognized after the command name too, and then win over a command's
  // own option of the same name: a command must not reuse one.
  const globalFlags = new Set(
    program.options
      .flatMap((option) => [option.long, option.short])
      .filter((flag) => flag !== undefined),
  );
  for (const command of program.commands) {
    it(`${command.name()} reuses no global option`, () => {
      const own = command.options
        .flatMap((option) => [option.long, option.short])
        .filter((flag) => flag !== undefined);
      expect(own.filter((flag) => globalFlags.has(flag))).toEqual([]);
    });
  }
});

describe("man/tsp11.1", () => {
  it.each(visibleLongFlags(program))("documents the global option %s", (flag) => {
    expect(man).toMatch(new RegExp(`^\\.(TP|B|BR|IP)?.*${flag}\\b`, "m"));
  });

  // Hidden commands (the shells' `__complete`) are plumbing, not interface.
  for (const command of program.createHelp().visibleCommands(program)) {
    if (command.name() === "help") continue;
    describe(command.name(), () => {
      it("has a section", () => {
        expect(man).toMatch(new RegExp(`^\\.SS ${command.name()}\\b`, "m"));
      });

      const section = () => {
        const start = man.search(new RegExp(`^\\.SS ${command.name()}\\b`, "m"));
        const rest = man.slice(start + 1);
        const end = rest.search(/^\.S[SH] /m);
        return end < 0 ? rest : rest.slice(0, end);
      };

      it.each(visibleLongFlags(command))("documents %s in its section", (flag) => {
        expect(section()).toContain(flag);
      });
    });
  }
});
