import { Command, Option } from "commander";
import type { EditChanges } from "../core/edit-object.js";
import { findEditable, runEditObjects } from "../core/edit-object.js";
import type { ObjectJson, ObjectType } from "../core/list-objects.js";
import { confirm } from "../confirm.js";
import { TspError } from "../errors.js";
import { parseHexId, parseUsage } from "../options.js";
import type { Usage } from "../options.js";
import { printTable } from "../output/render.js";
import { withContext } from "./shared.js";

const OBJECT_TYPES = ["cert", "privkey", "pubkey", "secret", "data"] as const;

interface EditObjectFlags {
  type?: ObjectType;
  id?: Uint8Array;
  label?: string;
  setLabel?: string;
  setId?: Uint8Array;
  setUsage?: Usage[];
  yes?: boolean;
  force?: boolean;
}

export function editObjectCommand(): Command {
  return new Command("edit-object")
    .description(
      "Change the label, id or usage of every object that matches (a key pair and its certificate together)",
    )
    .addOption(new Option("--type <type>", "only objects of this type").choices(OBJECT_TYPES))
    .option("--id <hex>", "objects with this CKA_ID", parseHexId)
    .option("--label <label>", "objects with this CKA_LABEL")
    .option("--set-label <label>", "the new CKA_LABEL")
    .option("--set-id <hex>", "the new CKA_ID (objects sharing the old id follow)", parseHexId)
    .option(
      "--set-usage <list>",
      "the new usage: sign,verify,encrypt,decrypt,derive,wrap,unwrap,sign-recover",
      parseUsage,
    )
    .option("-y, --yes", "do not ask for confirmation (needed without a terminal)")
    .option("--force", "allow an id or label that another object of the same class has")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 edit-object --label web --set-label www --yes --pin 1234\n  $ tsp11 edit-object --id 0001 --set-id 0a0b --yes --pin 1234 --json | jq -r '.[].uri'",
    )
    .action(
      withContext<EditObjectFlags>(async (flags, ctx) => {
        const uri = ctx.uri;
        const changes: EditChanges = {
          label: flags.setLabel,
          id: flags.setId,
          usage: flags.setUsage,
        };
        let edited: ObjectJson[] | undefined;
        {
          using scope = await ctx.openToken({ login: "required", rw: true });
          const listed = await findEditable(
            scope,
            { type: flags.type, id: flags.id ?? uri?.id, label: flags.label ?? uri?.object },
            changes,
          );
          const confirmed =
            flags.yes === true || (await confirmEdit(listed.map((entry) => entry.object)));
          if (confirmed)
            edited = await runEditObjects(scope, listed, changes, flags.force === true);
        }
        if (ctx.output.json) {
          ctx.output.writeJson(edited ?? []);
          return;
        }
        if (edited === undefined) {
          ctx.output.info("not confirmed: nothing changed");
          return;
        }
        await printTable(
          ctx.output,
          [
            { header: "class", value: (o: ObjectJson) => o.class },
            { header: "label", value: (o) => o.label },
            { header: "id", value: (o) => o.id },
            { header: "usage", value: (o) => o.usage.join(",") },
          ],
          edited,
        );
      }),
    );
}

/** Changing names breaks whatever finds objects by them: ask on a terminal, else want --yes. */
async function confirmEdit(objects: ObjectJson[]): Promise<boolean> {
  const what = objects.map((o) => `${o.class} "${o.label}" (id ${o.id || "none"})`).join(", ");
  if (!process.stdin.isTTY) {
    throw new TspError(
      "usage",
      `edit-object: would change ${objects.length} object(s): ${what}; add --yes to do it`,
    );
  }
  // A "no" is an answer, not a failure: exit 0.
  return confirm(`change ${what}?`);
}
