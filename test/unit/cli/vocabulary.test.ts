/**
 * The shared option names and their hidden old spellings (src/commands/vocabulary.ts): an old
 * spelling gives the same parsed value as the new one, both with different values is exit 2,
 * and help never shows an old spelling.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../../src/cli.js";
import { TspError } from "../../../src/errors.js";
import {
  AliasOption,
  oldSpelling,
  resolveAliases,
  sharedOption,
} from "../../../src/commands/vocabulary.js";

const wholeProgram = await buildProgram();

/** A command with the three shared options and their old spellings; parse returns its flags. */
function parse(args: string[]): Record<string, unknown> {
  let flags: Record<string, unknown> = {};
  const command = new Command("t")
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .addOption(sharedOption("key", "key"))
    .addOption(oldSpelling("key"))
    .addOption(sharedOption("input", "input"))
    .addOption(oldSpelling("input"))
    .addOption(sharedOption("output", "output"))
    .addOption(oldSpelling("output"))
    .action((_options, cmd: Command) => {
      resolveAliases(cmd);
      flags = cmd.opts();
    });
  command.parse(args, { from: "user" });
  return Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined));
}

function usageMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TspError);
    expect((error as TspError).kind).toBe("usage");
    return (error as TspError).message;
  }
  throw new Error("expected a usage error");
}

describe("resolveAliases", () => {
  it.each([
    [["-k", "a"], ["-i", "a"], ["--key=a"], ["-ia"]],
    [["--input", "d.txt"], ["-f", "d.txt"], ["--file", "d.txt"], ["--file=d.txt"]],
    [["-o", "x.pem"], ["--output", "x.pem"], ["--out", "x.pem"], ["--out=x.pem"]],
  ])("every spelling of %j gives the same value", (...spellings) => {
    const parsed = spellings.map((args) => parse(args));
    for (const flags of parsed) expect(flags).toEqual(parsed[0]);
    expect(Object.keys(parsed[0] ?? {})).toHaveLength(1);
  });

  it("keeps one value when both spellings agree", () => {
    expect(parse(["-i", "a", "--key", "a", "--out", "o", "-o", "o"])).toEqual({
      key: "a",
      output: "o",
    });
  });

  it.each([
    [["-i", "a", "-k", "b"], "-i is the old name of -k/--key"],
    [["--key", "b", "-i", "a"], "-i is the old name of -k/--key"],
    [["--out", "a", "--output", "b"], "--out is the old name of -o/--output"],
    [["-f", "a", "--input", "b"], "-f/--file is the old name of --input"],
  ])("%j with different values is a usage error", (args, message) => {
    expect(usageMessage(() => parse(args))).toContain(message);
  });

  it("refuses a conflict in a real command before any token is opened", async () => {
    const argv = ["req", "-i", "a", "--key", "b", "-d", "/CN=x", "--module", "/nonexistent.so"];
    await expect((await buildProgram()).parseAsync(argv, { from: "user" })).rejects.toMatchObject({
      kind: "usage",
      message: expect.stringContaining("-i is the old name of -k/--key") as unknown,
    });
  });
});

describe("help", () => {
  for (const command of wholeProgram.commands) {
    it(`${command.name()} shows no old spelling`, () => {
      const help = command.helpInformation();
      for (const option of command.options.filter((o) => o instanceof AliasOption)) {
        expect(option.hidden).toBe(true);
        if (option.long) expect(help).not.toMatch(new RegExp(`${option.long}\\b(?!-)`));
      }
      expect(help).not.toMatch(/^\s+-i,/m);
      expect(help).not.toMatch(/--out\b(?!-)/);
    });
  }
});

/** Every `$ tsp11 ...` example line of a command's --help, as words (quotes not parsed). */
function helpExamples(command: Command): string[][] {
  let text = "";
  command.configureOutput({ writeOut: (chunk) => (text += chunk) });
  command.outputHelp();
  return text
    .split("\n")
    .filter((line) => line.trim().startsWith("$ tsp11 "))
    .map((line) => line.trim().slice(2).split(/\s+/));
}

/** The README's command lines (in code blocks, with or without a `$ ` prompt). */
function readmeCommands(): string[][] {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  const blocks = readme.match(/```[a-z -]*\n[\s\S]*?```/g) ?? [];
  return blocks
    .flatMap((block) => block.split("\n"))
    .map((line) => line.trim().replace(/^\$ /, ""))
    .filter((line) => /^tsp11 /.test(line))
    .map((line) => line.split(/\s+/));
}

/** Old spellings in a command line: -i, --out, --file everywhere, -f outside write-object. */
function oldSpellingsIn(words: string[]): string[] {
  const command = words.find((word, k) => k > 0 && /^[a-z][a-z-]+$/.test(word));
  return words.filter(
    (word) =>
      word === "-i" ||
      /^--(out|file)(=|$)/.test(word) ||
      (word === "-f" && command !== "write-object"),
  );
}

describe("examples use the shared names", () => {
  for (const command of wholeProgram.commands) {
    it(`${command.name()} --help`, () => {
      for (const words of helpExamples(command)) expect(oldSpellingsIn(words)).toEqual([]);
    });
  }

  it("README", () => {
    const lines = readmeCommands();
    expect(lines.length).toBeGreaterThan(20);
    for (const words of lines)
      expect([words.join(" "), oldSpellingsIn(words)]).toEqual([words.join(" "), []]);
  });

  it("verify's FILE... example checks with the mechanism sign's FILE... example signs with", () => {
    const batch = (name: string) =>
      helpExamples(wholeProgram.commands.find((c) => c.name() === name) as Command).find((words) =>
        words.some((word) => word.endsWith("*.tar.gz")),
      ) ?? [];
    const mechanism = (words: string[]) => words[words.indexOf("-m") + 1];
    expect(batch("sign")).toContain("-m");
    expect(mechanism(batch("verify"))).toBe(mechanism(batch("sign")));
  });
});
