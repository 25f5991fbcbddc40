import { Command } from "commander";
import type { SlotJson } from "../core/list-slots.js";
import { runListSlots } from "../core/list-slots.js";
import { printTable } from "../output/render.js";
import { withContext } from "./shared.js";

interface ListSlotsFlags {
  all?: boolean;
  wide?: boolean;
  header?: boolean;
}

export function listSlotsCommand(): Command {
  return new Command("list-slots")
    .description("List slots with a token (every slot with --all)")
    .option("--all", "include slots without a token")
    .option("--wide", "show every column whole (no shortening to the terminal's width)")
    .option("--header", "piped output: start with a line of column names")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 list-slots\n  $ tsp11 list-slots --json | jq -r '.[].token.label'",
    )
    .action(
      withContext<ListSlotsFlags>(async (flags, ctx) => {
        let slots: SlotJson[];
        {
          using module = ctx.openModule();
          slots = runListSlots(module, flags.all === true);
        }
        const hint = ctx.emptyHint();
        if (slots.length === 0)
          ctx.output.warn(`no slots${hint ?? ` in ${ctx.moduleOptions().path}`}`);
        if (ctx.output.json) {
          ctx.output.writeJson(slots);
          return;
        }
        await printTable(
          ctx.output,
          [
            { header: "SLOT", value: (s: SlotJson) => `0x${s.slot.toString(16)}` },
            { header: "LABEL", value: (s) => s.token?.label ?? "", shrink: "end" },
            { header: "SERIAL", value: (s) => s.token?.serial ?? "" },
            { header: "STATE", value: (s) => slotState(s) },
            {
              header: "MODEL",
              value: (s) => [s.token?.manufacturer, s.token?.model].filter(Boolean).join(" "),
              shrink: "end",
            },
            { header: "URI", value: (s) => s.token?.uri ?? "", shrink: "middle", droppable: true },
          ],
          slots,
          { wide: flags.wide, header: flags.header },
        );
      }),
    );
}

function slotState(slot: SlotJson): string {
  if (!slot.tokenPresent) return "empty";
  if (!slot.token) return "unreadable";
  if (!slot.token.initialized) return "uninitialized";
  return slot.token.userPinInitialized ? "ready" : "no user PIN";
}
