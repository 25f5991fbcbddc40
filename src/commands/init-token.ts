import { Command } from "commander";
import { TspError } from "../errors.js";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";
import { runInitToken } from "../core/init-token.js";

interface InitTokenFlags {
  label?: string;
  force?: boolean;
}

export function initTokenCommand(): Command {
  return new Command("init-token")
    .description("Initialize a token (and with --pin set its user PIN)")
    .requiredOption("--label <label>", "token label (at most 32 bytes)")
    .option(
      "--force",
      "re-initialize an initialized token named by --slot or --token-label (destroys its objects)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 init-token --label demo --so-pin 12345678 --pin 1234\n  $ tsp11 init-token --label demo --so-pin 12345678 --json | jq -r .serial",
    )
    .action(
      withContext<InitTokenFlags>(async (flags, ctx) => {
        const label = ctx.require(flags.label, "--label");
        const soPin = await ctx.soPin(true);
        if (!soPin)
          throw new TspError("auth", "init-token: an SO PIN is needed (--so-pin or TSP11_SO_PIN)");
        const userPin = await ctx.userPin(false);
        using module = ctx.openModule();
        const result = runInitToken(module, {
          label,
          soPin,
          userPin,
          selector: ctx.selector,
          force: flags.force === true,
          emptyHint: ctx.emptyHint(),
        });
        if (ctx.output.json) ctx.output.writeJson(result);
        else
          printRecord(ctx.output, [
            ["label", result.label],
            ["slot", `0x${result.slot.toString(16)}`],
            ["serial", result.serial],
            ["uri", result.uri],
          ]);
      }),
    );
}
