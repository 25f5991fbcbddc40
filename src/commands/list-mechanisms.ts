import { Command } from "commander";
import type { MechanismJson } from "../core/list-mechanisms.js";
import { printTable } from "../output/render.js";
import { withContext } from "./shared.js";
import { runListMechanisms } from "../core/list-mechanisms.js";

/** `{min,max}` as pkcs11-tool -M prints it; nothing when the module gives no sizes. */
function keySize(mechanism: MechanismJson): string {
  if (mechanism.minKeySize === 0 && mechanism.maxKeySize === 0) return "";
  return `${mechanism.minKeySize}..${mechanism.maxKeySize}`;
}

function flagWords(mechanism: MechanismJson): string {
  return mechanism.flags.map((flag) => flag.replace(/^CKF_/, "").toLowerCase()).join(",");
}

export function listMechanismsCommand(): Command {
  return new Command("list-mechanisms")
    .description("List the mechanisms of the token's slot (no login needed)")
    .option("--header", "piped output: start with a line of column names")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 list-mechanisms --token-label demo\n  $ tsp11 list-mechanisms --json | jq -r '.[] | select(.flags | index(\"CKF_SIGN\")) | .name'",
    )
    .action(
      withContext<{ header?: boolean }>(async (flags, ctx) => {
        let mechanisms: MechanismJson[];
        {
          using module = ctx.openModule();
          mechanisms = runListMechanisms(module, ctx.selector, {
            emptyHint: ctx.emptyHint(),
          }).mechanisms;
        }
        if (ctx.output.json) {
          ctx.output.writeJson(mechanisms);
          return;
        }
        await printTable(
          ctx.output,
          [
            { header: "NAME", value: (m: MechanismJson) => m.name },
            { header: "ID", value: (m) => `0x${m.id.toString(16)}` },
            { header: "KEY SIZE", value: keySize },
            { header: "FLAGS", value: flagWords, shrink: "end" },
          ],
          mechanisms,
          { header: flags.header },
        );
      }),
    );
}
