import { Command, Option } from "commander";
import type { ObjectJson, ObjectType } from "../core/list-objects.js";
import { TspError } from "../errors.js";
import { parseHexId } from "../options.js";
import { withContext } from "./shared.js";
import { findDeletable, runDeleteObjects } from "../core/delete-object.js";
import { objectFilterOf, requireNamed } from "../core/object-filter.js";
import { confirm } from "../confirm.js";

const OBJECT_TYPES = ["cert", "privkey", "pubkey", "secret", "data"] as const;

interface DeleteObjectFlags {
  type?: ObjectType;
  id?: Uint8Array;
  label?: string;
  yes?: boolean;
}

export function deleteObjectCommand(): Command {
  return new Command("delete-object")
    .description(
      "Delete every object that matches (a key pair and its certificate when they share an id)",
    )
    .addOption(new Option("--type <type>", "only objects of this type").choices(OBJECT_TYPES))
    .option("--id <hex>", "objects with this CKA_ID", parseHexId)
    .option("--label <label>", "objects with this CKA_LABEL")
    .option("-y, --yes", "do not ask for confirmation (needed without a terminal)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 delete-object --id 0001 --pin 1234\n  $ tsp11 delete-object --type cert --label old --yes --pin 1234 --json | jq length",
    )
    .action(
      withContext<DeleteObjectFlags>(async (flags, ctx) => {
        // Checked before the token is opened: a conflicting selector changes nothing.
        const filter = objectFilterOf(flags, ctx.uri);
        requireNamed(filter, "delete-object");
        let deleted: ObjectJson[] | undefined;
        {
          using scope = await ctx.openToken({ login: "required", rw: true });
          const listed = await findDeletable(scope, filter);
          const confirmed =
            flags.yes === true || (await confirmDeletion(listed.map((entry) => entry.object)));
          if (confirmed) deleted = runDeleteObjects(scope, listed);
        }
        if (ctx.output.json) ctx.output.writeJson(deleted ?? []);
        else if (deleted === undefined) ctx.output.info("not confirmed: nothing deleted");
        else ctx.output.info(`deleted ${deleted.length} object${deleted.length === 1 ? "" : "s"}`);
      }),
    );
}

/**
 * Deleting is for good: ask on a terminal; without one, --yes must say it. A "no" is the
 * user's answer, not a failure (exit 0, as rm -i).
 */
async function confirmDeletion(objects: ObjectJson[]): Promise<boolean> {
  const what = objects.map((o) => `${o.class} "${o.label}" (id ${o.id || "none"})`).join(", ");
  if (!process.stdin.isTTY) {
    throw new TspError(
      "usage",
      `delete-object: would delete ${objects.length} object(s): ${what}; add --yes to do it`,
    );
  }
  return confirm(`delete ${what}?`);
}
