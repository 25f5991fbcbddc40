/**
 * Completion: what may come next on a tsp11 command line. Pure: the words typed so far and
 * the commander program in, candidates out; live token data comes through `LiveSource`, so
 * the shells' scripts stay a few lines that pass words and print answers.
 */
import type { Command, Option } from "commander";

/** What the shell should offer: these words, or its own file-name completion. */
export type Completion = { kind: "words"; words: string[] } | { kind: "files" };

/** Token data read live (no login): labels, serials, and the public objects of a token. */
export interface LiveSource {
  tokenLabels(): Promise<string[]>;
  tokenSerials(): Promise<string[]>;
  objects(): Promise<{ label: string; id: string; uri: string; class: string }[]>;
}

/** Options whose value is a file: the shell completes paths there. */
const FILE_OPTIONS = new Set([
  "--file",
  "--input",
  "--output",
  "--out",
  "--csr",
  "--issuer-cert",
  "--signature",
  "--pin-file",
  "--so-pin-file",
  "--key-pass-file",
  "--auth-token-file",
  "--tls-cert",
  "--tls-key",
  "--socket",
  "--peer",
  "--public-key",
  "--aad",
  "--iv-out",
]);

/** Values worth offering for options whose choices commander does not know. */
const VALUES: Readonly<Record<string, readonly string[]>> = {
  "--key-type": [
    "rsa:2048",
    "rsa:3072",
    "rsa:4096",
    "ec:prime256v1",
    "ec:secp384r1",
    "ec:secp521r1",
    "ed25519",
    "aes:128",
    "aes:192",
    "aes:256",
  ],
  "--mechanism": [
    "SHA256-RSA-PKCS",
    "SHA384-RSA-PKCS",
    "SHA512-RSA-PKCS",
    "RSA-PKCS",
    "RSA-PKCS-PSS",
    "SHA256-RSA-PKCS-PSS",
    "SHA384-RSA-PKCS-PSS",
    "SHA512-RSA-PKCS-PSS",
    "ECDSA",
    "ECDSA-SHA256",
    "ECDSA-SHA384",
    "ECDSA-SHA512",
    "EDDSA",
  ],
  "--hash": ["sha256", "sha384", "sha512"],
  "--usage": ["sign", "decrypt", "derive", "wrap", "encrypt", "verify", "unwrap"],
};

/** Options whose values are read from the selected token. */
const LIVE: Readonly<Record<string, (live: LiveSource) => Promise<string[]>>> = {
  "--token-label": (live) => live.tokenLabels(),
  "--token": (live) => live.tokenLabels(),
  "--serial": (live) => live.tokenSerials(),
  "--key": async (live) => keyLabels(await live.objects()),
  "--label": async (live) => unique((await live.objects()).map((o) => o.label)),
  "--id": async (live) => unique((await live.objects()).map((o) => o.id)),
  "--uri": async (live) => (await live.objects()).map((o) => o.uri),
};

function unique(values: string[]): string[] {
  return [...new Set(values.filter((value) => value !== ""))];
}

function keyLabels(objects: { label: string; class: string }[]): string[] {
  return unique(objects.filter((o) => o.class.endsWith("-key")).map((o) => o.label));
}

function findOption(options: readonly Option[], word: string): Option | undefined {
  return options.find((option) => option.long === word || option.short === word);
}

function optionsOf(command: Command | undefined, program: Command): Option[] {
  return [...(command?.options ?? []), ...program.options];
}

/** The subcommand the words name, skipping the values of global options. */
function commandOf(program: Command, words: string[]): Command | undefined {
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? "";
    if (word === "--") return undefined;
    if (!word.startsWith("-")) return program.commands.find((c) => c.name() === word);
    const option = findOption(program.options, word);
    if (option && (option.required || option.optional)) i++;
  }
  return undefined;
}

/** An old spelling (`-i`, `--out`: src/commands/vocabulary.ts) completes as the option it stands for. */
function longName(option: Option): string {
  const target = (option as { target?: unknown }).target;
  return typeof target === "string" ? `--${target}` : (option.long ?? "");
}

async function valuesFor(option: Option, live: () => LiveSource): Promise<Completion> {
  const name = longName(option);
  if (FILE_OPTIONS.has(name)) return { kind: "files" };
  if (option.argChoices) return { kind: "words", words: option.argChoices };
  const fixed = VALUES[name];
  if (fixed) return { kind: "words", words: [...fixed] };
  const read = LIVE[name];
  if (read) {
    try {
      return { kind: "words", words: await read(live()) };
    } catch {
      // No module, no token, several tokens: nothing to offer rather than an error.
      return { kind: "words", words: [] };
    }
  }
  return { kind: "words", words: [] };
}

function matching(completion: Completion, prefix: string): Completion {
  if (completion.kind === "files") return completion;
  return { kind: "words", words: completion.words.filter((word) => word.startsWith(prefix)) };
}

/**
 * Candidates for the last word of `words` (the words after `tsp11`, the last being the one
 * under the cursor, possibly empty).
 */
export async function complete(
  program: Command,
  words: string[],
  live: () => LiveSource,
): Promise<Completion> {
  const current = words[words.length - 1] ?? "";
  const before = words.slice(0, -1);
  const command = commandOf(program, before);
  const options = optionsOf(command, program);
  const equals = current.indexOf("=");
  if (current.startsWith("--") && equals > 0) {
    const option = findOption(options, current.slice(0, equals));
    if (!option) return { kind: "words", words: [] };
    const values = matching(await valuesFor(option, live), current.slice(equals + 1));
    if (values.kind === "files") return values;
    return { kind: "words", words: values.words.map((v) => `${current.slice(0, equals + 1)}${v}`) };
  }
  const previous = findOption(options, before[before.length - 1] ?? "");
  if (previous && (previous.required || previous.optional)) {
    return matching(await valuesFor(previous, live), current);
  }
  if (current.startsWith("-")) {
    const names = options.filter((o) => !o.hidden && o.long).map((o) => o.long ?? "");
    return matching({ kind: "words", words: names }, current);
  }
  if (!command) {
    const names = program
      .createHelp()
      .visibleCommands(program)
      .map((c) => c.name())
      .filter((name) => name !== "help");
    return matching({ kind: "words", words: names }, current);
  }
  const choices = command.registeredArguments[0]?.argChoices;
  if (choices) return matching({ kind: "words", words: choices }, current);
  return { kind: "files" };
}
