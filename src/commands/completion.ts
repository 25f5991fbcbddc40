import { Argument, Command } from "commander";
import type { LiveSource } from "../completion/engine.js";
import type { Shell } from "../completion/scripts.js";
import { completionScript, SHELLS } from "../completion/scripts.js";
import { CommandContext } from "../context.js";
import type { GlobalOptions } from "../context.js";
import { Output } from "../output/io.js";
import { isTokenLockHeld, lockKeyOf } from "../pkcs11/token-lock.js";
import { withContext } from "./shared.js";

export function completionCommand(): Command {
  return new Command("completion")
    .description("Print a shell completion script (bash, zsh or fish)")
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .addHelpText(
      "after",
      "\nExamples:\n  $ source <(tsp11 completion bash)          # in ~/.bashrc\n  $ source <(tsp11 completion zsh)           # in ~/.zshrc\n  $ tsp11 completion fish > ~/.config/fish/completions/tsp11.fish",
    )
    .action(
      withContext<Record<string, never>>((_flags, ctx, args) => {
        ctx.output.write(completionScript(args[0] as Shell));
      }),
    );
}

/** The global options the words typed so far give (and their environment variables). */
function globalsOf(words: string[]): GlobalOptions {
  const globals: GlobalOptions = {
    module: process.env.TSP11_MODULE,
    tokenLabel: process.env.TSP11_TOKEN,
  };
  for (let i = 0; i < words.length - 1; i++) {
    const value = words[i + 1];
    switch (words[i]) {
      case "--module":
        globals.module = value;
        break;
      case "-t":
      case "--token-label":
      case "--token":
        globals.tokenLabel = value;
        break;
      case "--serial":
        globals.serial = value;
        break;
    }
  }
  return globals;
}

/** Token data read without a login: what any user of the token may see. */
function liveSource(ctx: CommandContext): LiveSource {
  const slots = async () => {
    const { runListSlots } = await import("../core/list-slots.js");
    using module = ctx.openModule();
    return runListSlots(module, false).flatMap((slot) => (slot.token ? [slot.token] : []));
  };
  return {
    tokenLabels: async () => (await slots()).map((token) => token.label).filter(Boolean),
    tokenSerials: async () => (await slots()).map((token) => token.serial),
    objects: async () => {
      const { runListObjects } = await import("../core/list-objects.js");
      using scope = await ctx.openToken({ login: "none", rw: false });
      // A TAB does not wait for another process's keygen: no object names meanwhile.
      if (isTokenLockHeld(lockKeyOf(scope))) return [];
      // Awaited here: the scope must outlive the reads.
      return await runListObjects(scope, {});
    },
  };
}

/** `tsp11 __complete -- WORDS...`: the shells' scripts call it on every TAB. */
export function completeCommand(): Command {
  return new Command("__complete")
    .argument("[words...]")
    .helpOption(false)
    .allowUnknownOption()
    .action(async (words: string[]) => {
      const [{ complete }, { buildProgram }] = await Promise.all([
        import("../completion/engine.js"),
        import("../cli.js"),
      ]);
      const output = await Output.create({
        json: false,
        color: false,
        quiet: true,
        verbose: false,
      });
      const ctx = new CommandContext(globalsOf(words), output);
      const result = await complete(await buildProgram(), words, () => liveSource(ctx));
      const lines = result.kind === "files" ? [":files"] : [":words", ...result.words];
      output.write(`${lines.join("\n")}\n`);
    });
}
