import { Command, Option } from "commander";
import type { ChangePinResult, PinAction } from "../core/change-pin.js";
import { TspError } from "../errors.js";
import type { CommandContext } from "../context.js";
import type { Pin } from "../pin.js";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";
import { givenPin, promptNewPin } from "../pin.js";
import { runChangePin } from "../core/change-pin.js";

interface ChangePinFlags {
  newPin?: string;
  so?: boolean;
  reset?: boolean;
}

/** The new PIN: --new-pin / TSP11_NEW_PIN (env:NAME too), else asked twice on the terminal. */
async function newPinOf(flags: ChangePinFlags): Promise<Pin> {
  const given = await givenPin({ value: flags.newPin });
  if (given) return given;
  return promptNewPin("New PIN", "change-pin", "use --new-pin or TSP11_NEW_PIN");
}

async function currentPin(ctx: CommandContext, so: boolean): Promise<Pin> {
  const pin = so ? await ctx.soPin(true) : await ctx.userPin(true);
  if (!pin) throw new TspError("auth", "change-pin: the current PIN is needed");
  return pin;
}

export function changePinCommand(): Command {
  return new Command("change-pin")
    .description(
      "Change the user PIN (or the SO PIN with --so); --reset: the SO sets a new user PIN",
    )
    .addOption(new Option("--new-pin <pin>", "the new PIN (or env:NAME)").env("TSP11_NEW_PIN"))
    .option("--so", "change the security officer's PIN (the current one from --so-pin)")
    .option("--reset", "as SO (--so-pin), set a new user PIN: for a forgotten or locked one")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 change-pin --pin 1234 --new-pin 5678\n  $ tsp11 change-pin --reset --so-pin 12345678 --new-pin 1234",
    )
    .action(
      withContext<ChangePinFlags>(async (flags, ctx) => {
        if (flags.so === true && flags.reset === true)
          throw new TspError("usage", "change-pin: --so and --reset exclude each other");
        const action: PinAction =
          flags.reset === true ? "reset-user" : flags.so === true ? "change-so" : "change-user";
        const asSo = action !== "change-user";
        const oldPin = await currentPin(ctx, asSo);
        const newPin = await newPinOf(flags);
        let result: ChangePinResult;
        {
          // C_SetPIN and C_InitPIN need a logged-in read/write session.
          using scope = await ctx.openToken({ login: asSo ? "so" : "required", rw: true });
          result = runChangePin(scope, action, oldPin, newPin);
        }
        if (ctx.output.json) ctx.output.writeJson(result);
        else
          printRecord(ctx.output, [
            ["token", result.label],
            [`${result.pin} PIN`, result.action],
            ["uri", result.uri],
          ]);
      }),
    );
}
