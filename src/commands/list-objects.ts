import { Command, Option } from "commander";
import type { ObjectJson, ObjectType } from "../core/list-objects.js";
import { parseHexId } from "../options.js";
import type { Output } from "../output/io.js";
import type { Column } from "../output/render.js";
import { printRowsAsRead } from "../output/render.js";
import { keepYoungGenerationSmall } from "../memory.js";
import { withContext } from "./shared.js";
import { streamListedObjects } from "../core/list-objects.js";
import { objectFilterOf } from "../core/object-filter.js";
import { lockKeyOf, withTokenLock } from "../pkcs11/token-lock.js";

const OBJECT_TYPES = ["cert", "privkey", "pubkey", "secret", "data"] as const;

interface ListObjectsFlags {
  type?: ObjectType;
  id?: Uint8Array;
  label?: string;
  wide?: boolean;
  header?: boolean;
}

/** Without a login the token shows only public objects: said where the listing looks wrong. */
const PRIVATE_HINT = "not logged in: log in to see private objects (give --pin)";

/** Keys a killed keygen left (core/keygen.ts): said on stderr, whatever the output format. */
function incompleteWarning(objects: ObjectJson[]): string {
  const labels = [...new Set(objects.map((object) => `"${object.label}"`))].join(", ");
  return `${objects.length} incomplete key(s) left by an interrupted keygen (label ${labels}, id ${objects[0]?.id ?? ""}); delete them with delete-object --id ${objects[0]?.id ?? ""}`;
}

/** Risky attributes in capitals as well as colour, so the warning survives NO_COLOR (p11ls). */
function flagsOf(item: ObjectJson, output: Output): string {
  const flags: string[] = [];
  if (item.private) flags.push("private");
  if (item.sensitive === false) flags.push(output.color.red("NOT-SENSITIVE"));
  if (item.extractable === true) flags.push(output.color.red("EXTRACTABLE"));
  if (item.incomplete) flags.push(output.color.red("INCOMPLETE"));
  return flags.join(",");
}

function typeOf(item: ObjectJson): string {
  if (item.class === "certificate") return "x509";
  if (!item.keyType) return "";
  if (item.curve) return `${item.keyType} ${item.curve}`;
  return item.bits !== undefined ? `${item.keyType} ${item.bits}` : item.keyType;
}

export function listObjectsCommand(): Command {
  return new Command("list-objects")
    .description("List the token's objects (private ones too when a PIN is available)")
    .addOption(new Option("--type <type>", "only objects of this type").choices(OBJECT_TYPES))
    .option("--id <hex>", "only objects with this CKA_ID", parseHexId)
    .option("--label <label>", "only objects with this CKA_LABEL")
    .option("--wide", "show every column whole (no shortening to the terminal's width)")
    .option("--header", "piped output: start with a line of column names")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 list-objects --pin 1234\n  $ tsp11 list-objects --type cert --json | jq -r '.[].subject'",
    )
    .action(
      withContext<ListObjectsFlags>(async (flags, ctx) => {
        const filter = objectFilterOf(flags, ctx.uri);
        keepYoungGenerationSmall();
        using scope = await ctx.openToken({ login: "if-pin", rw: false });
        // SoftHSM's file store crashes or misreads a token that another process is writing:
        // the listing reads under the token's lock, as keygen and write-object write.
        await withTokenLock(lockKeyOf(scope), "list-objects", async () => {
          const listing = streamListedObjects(scope, filter);
          const hidden = !scope.session.loggedIn && scope.token.loginRequired;
          if (
            hidden &&
            (listing.count === 0 || filter.type === "privkey" || filter.type === "secret")
          )
            ctx.output.warn(PRIVATE_HINT);
          // Written as read, memory flat in the number of objects; the incomplete ones noted.
          const incomplete: ObjectJson[] = [];
          async function* objects(): AsyncGenerator<ObjectJson> {
            for await (const object of listing.objects) {
              if (object.incomplete) incomplete.push(object);
              yield object;
            }
          }
          if (ctx.output.json) await ctx.output.writeJsonArray(objects());
          else
            await printRowsAsRead(ctx.output, objectColumns(ctx.output), objects(), {
              wide: flags.wide,
              header: flags.header,
              tsv: objectTsvColumns(ctx.output),
            });
          if (incomplete.length > 0) ctx.output.warn(incompleteWarning(incomplete));
        });
      }),
    );
}

/** The date a certificate expires (its notAfter), as a day. */
function expiresOf(item: ObjectJson): string {
  return item.notAfter?.slice(0, 10) ?? "";
}

/** The table on a terminal: long columns last, shortened to fit. */
function objectColumns(output: Output): Column<ObjectJson>[] {
  return [
    { header: "CLASS", value: (o) => o.class },
    { header: "LABEL", value: (o) => o.label, shrink: "end" },
    { header: "ID", value: (o) => o.id, shrink: "middle" },
    { header: "TYPE", value: typeOf },
    { header: "USAGE", value: (o) => o.usage.join(",") },
    { header: "FLAGS", value: (o) => flagsOf(o, output) },
    { header: "SUBJECT", value: (o) => o.subject ?? "", shrink: "end", optional: true },
    { header: "EXPIRES", value: expiresOf, optional: true },
    { header: "URI", value: (o) => o.uri, shrink: "middle", droppable: true },
  ];
}

/**
 * Piped rows, in the documented order (man page, LIST-OBJECTS COLUMNS): the first seven as
 * they have always been, the certificate's subject and expiry after them.
 */
function objectTsvColumns(output: Output): Column<ObjectJson>[] {
  const byHeader = new Map(objectColumns(output).map((column) => [column.header, column]));
  const order = ["CLASS", "LABEL", "ID", "TYPE", "USAGE", "FLAGS", "URI", "SUBJECT", "EXPIRES"];
  return order.flatMap((header) => byHeader.get(header) ?? []);
}
