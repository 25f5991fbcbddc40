/**
 * The man page must document every command and every option that --help prints (OpenSC's
 * test-manpage.sh idea): a new option without documentation fails here.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../../src/cli.js";
import { AliasOption, VOCABULARY } from "../../../src/commands/vocabulary.js";

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

const program = await buildProgram();

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

describe("option vocabulary", () => {
  // Files and keys are named alike everywhere: -o/--output, --input, -k/--key. The old
  // spellings (--out, -f/--file, -i) stay as hidden aliases; only write-object shows -f.
  const OLD_NAMES = ["--out", "--file", "--output-file", "--input-file", "--in"];
  for (const command of program.createHelp().visibleCommands(program)) {
    const visible = command.createHelp().visibleOptions(command);
    const byLong = (long: string) => visible.find((option) => option.long === long);

    it(`${command.name()} shows only the shared names for files and keys`, () => {
      expect(
        visible.filter((o) => o.long && OLD_NAMES.includes(o.long)).map((o) => o.long),
      ).toEqual([]);
      expect(visible.filter((o) => o.short === "-i").map((o) => o.flags)).toEqual([]);
      const shortF = visible.filter((o) => o.short === "-f").map((o) => o.flags);
      expect(shortF).toEqual(command.name() === "write-object" ? ["-f, --input <file|->"] : []);
      const output = byLong("--output");
      if (output) expect(output.flags).toBe(VOCABULARY.output.flags);
      const key = byLong("--key");
      if (key) expect(key.flags).toBe(VOCABULARY.key.flags);
      const input = byLong("--input");
      if (input) expect(input.flags).toMatch(/^(-f, )?--input <file\|->$/);
      // No other visible option takes the short forms of the shared names.
      for (const [short, long] of [
        ["-o", "--output"],
        ["-k", "--key"],
      ]) {
        const taken = visible.find((o) => o.short === short);
        if (taken) expect(taken.long).toBe(long);
      }
    });

    it(`${command.name()} keeps the old spellings of its shared options`, () => {
      const aliases = command.options.filter((o) => o instanceof AliasOption);
      for (const alias of aliases) expect(alias.hidden).toBe(true);
      for (const name of ["key", "input", "output"] as const) {
        if (!byLong(`--${name}`)) continue;
        expect(aliases.map((alias) => alias.target)).toContain(name);
      }
    });
  }

  it("has its table in the man page", () => {
    const start = man.search(/^\.SH OPTION VOCABULARY$/m);
    expect(start).toBeGreaterThan(0);
    const section = man.slice(start, man.indexOf("\n.SH ", start + 1));
    for (const { flags, alias } of Object.values(VOCABULARY)) {
      const [long] = flags.match(/--[a-z]+/) ?? [];
      expect(section).toContain(long);
      for (const old of alias.match(/-{1,2}[a-z]+/g) ?? []) expect(section).toContain(old);
    }
  });
});
