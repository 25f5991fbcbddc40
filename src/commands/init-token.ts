import { Command } from "commander";
import type { CommandContext } from "../context.js";
import type { Pin } from "../pin.js";
import { promptNewPin, SO_PIN_SOURCES, USER_PIN_SOURCES } from "../pin.js";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";
import { runInitToken } from "../core/init-token.js";

interface InitTokenFlags {
  label?: string;
  force?: boolean;
}

/**
 * The SO PIN given, else asked twice at the terminal (a typo would lock the SO out), and then
 * the user PIN offered (twice too; empty: none). Asked before anything is loaded: a mismatch
 * changes nothing. A script that gives --so-pin is never asked anything.
 */
async function initPins(ctx: CommandContext): Promise<{ soPin: Pin; userPin: Pin | undefined }> {
  const userPin = await ctx.userPin(false);
  const given = await ctx.givenSoPin();
  if (given) return { soPin: given, userPin };
  const soPin = await promptNewPin("SO PIN", "init-token", SO_PIN_SOURCES);
  return {
    soPin,
    userPin: userPin ?? (await promptNewPin("User PIN", "init-token", USER_PIN_SOURCES, true)),
  };
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
      "\nExamples:\n  $ tsp11 init-token --label demo --so-pin 12345678 --pin 1234\n  $ tsp11 init-token --label backup --so-pin 12345678 --json | jq -r .serial",
    )
    .action(
      withContext<InitTokenFlags>(async (flags, ctx) => {
        const label = ctx.require(flags.label, "--label");
        const { soPin, userPin } = await initPins(ctx);
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
