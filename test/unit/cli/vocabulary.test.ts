/**
 * The shared option names and their hidden old spellings (src/commands/vocabulary.ts): an old
 * spelling gives the same parsed value as the new one, both with different values is exit 2,
 * and help never shows an old spelling.
 */
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
    await expect(buildProgram(argv).parseAsync(argv, { from: "user" })).rejects.toMatchObject({
      kind: "usage",
      message: expect.stringContaining("-i is the old name of -k/--key") as unknown,
    });
  });
});

describe("help", () => {
  const program = buildProgram();
  for (const command of program.commands) {
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
