/**
 * One option vocabulary for every command: `-k, --key` selects the key a command works with,
 * `--input` names the file it reads and `-o, --output` the file it writes. Older spellings
 * stay as hidden aliases: withContext moves an alias's value onto the shared name before the
 * action runs, so an action sees one value; both spellings with different values is exit 2.
 */
import type { Command } from "commander";
import { Option } from "commander";
import { usageError } from "../errors.js";

export type SharedName = "key" | "input" | "output";

/** The shared names, their visible flags and their hidden old spellings (the man page's table). */
export const VOCABULARY: Readonly<Record<SharedName, { flags: string; alias: string }>> = {
  key: { flags: "-k, --key <label>", alias: "-i <label>" },
  input: { flags: "--input <file|->", alias: "-f, --file <file|->" },
  output: { flags: "-o, --output <file|->", alias: "--out <file|->" },
};

/** A hidden old spelling of a shared option. */
export class AliasOption extends Option {
  constructor(
    flags: string,
    readonly target: SharedName,
  ) {
    super(flags, `old spelling of --${target}`);
    this.hideHelp();
  }
}

/** The shared option `name`; `flags` only where a command adds a short form (write-object's -f). */
export function sharedOption(
  name: SharedName,
  description: string,
  flags: string = VOCABULARY[name].flags,
): Option {
  return new Option(flags, description);
}

/** The hidden old spelling(s) of `name`; `flags` where part of it is visible (write-object). */
export function oldSpelling(name: SharedName, flags: string = VOCABULARY[name].alias): Option {
  return new AliasOption(flags, name);
}

function spelled(option: Option): string {
  return [option.short, option.long].filter((flag) => flag !== undefined).join("/");
}

/**
 * Moves the values given under old spellings onto their shared names. A value given under
 * both spellings must be the same (exit 2 otherwise: which one was meant is unknowable).
 */
export function resolveAliases(command: Command): void {
  for (const alias of command.options) {
    if (!(alias instanceof AliasOption)) continue;
    const attribute = alias.attributeName();
    const value: unknown = command.getOptionValue(attribute);
    if (value === undefined) continue;
    const target = command.options.find(
      (option) => !(option instanceof AliasOption) && option.attributeName() === alias.target,
    );
    const current: unknown = command.getOptionValue(alias.target);
    if (command.getOptionValueSource(alias.target) === "cli" && current !== value) {
      const name = target ? spelled(target) : `--${alias.target}`;
      throw usageError(
        `${spelled(alias)} is the old name of ${name}: give one of them, not both with different values`,
      );
    }
    command.setOptionValueWithSource(
      alias.target,
      value,
      command.getOptionValueSource(attribute) ?? "cli",
    );
    command.setOptionValue(attribute, undefined);
  }
}
