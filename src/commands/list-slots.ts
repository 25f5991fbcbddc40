import { Command } from "commander";
import type { SlotJson } from "../core/list-slots.js";
import { runListSlots } from "../core/list-slots.js";
import type { Column } from "../output/render.js";
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
        const columns = slotColumns();
        await printTable(ctx.output, columns, slots, {
          wide: flags.wide,
          header: flags.header,
          tsv: slotTsvColumns(columns),
        });
      }),
    );
}

function slotColumns(): Column<SlotJson>[] {
  return [
    { header: "SLOT", value: (s) => `0x${s.slot.toString(16)}` },
    { header: "LABEL", value: (s) => s.token?.label ?? "", shrink: "end" },
    { header: "SERIAL", value: (s) => s.token?.serial ?? "" },
    { header: "STATE", value: (s) => slotState(s) },
    { header: "PIN-LEN", value: (s) => pinLengths(s) },
    {
      header: "MODEL",
      value: (s) => [s.token?.manufacturer, s.token?.model].filter(Boolean).join(" "),
      shrink: "end",
    },
    { header: "URI", value: (s) => s.token?.uri ?? "", shrink: "middle", droppable: true },
  ];
}

/** Piped rows, in the documented order: the first six as they have always been, then PIN-LEN. */
function slotTsvColumns(columns: Column<SlotJson>[]): Column<SlotJson>[] {
  const byHeader = new Map(columns.map((column) => [column.header, column]));
  const order = ["SLOT", "LABEL", "SERIAL", "STATE", "MODEL", "URI", "PIN-LEN"];
  return order.flatMap((header) => byHeader.get(header) ?? []);
}

/** The PIN lengths the token takes, "4-255"; "" where it does not say. */
function pinLengths(slot: SlotJson): string {
  const min = slot.token?.minPinLength;
  const max = slot.token?.maxPinLength;
  if (min == null && max == null) return "";
  return `${min ?? "?"}-${max ?? "?"}`;
}

function slotState(slot: SlotJson): string {
  if (!slot.tokenPresent) return "empty";
  if (!slot.token) return "unreadable";
  if (!slot.token.initialized) return "uninitialized";
  return slot.token.userPinInitialized ? "ready" : "no user PIN";
}
