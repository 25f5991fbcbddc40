import { Command } from "commander";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";
import { describeInterfaces, runInfo } from "../core/info.js";
import type { SoftHsmStore } from "../core/softhsm-store.js";

/** SoftHSM2's store, and the one way other tools see the same tokens. */
function storeRows(module: string, store: SoftHsmStore | undefined): [string, string][] {
  if (!store) return [];
  const whose = store.embedded ? "tsp11's own store" : "SoftHSM2's config";
  return [
    ["token store", `${store.tokenDir ?? "(not readable)"} (${whose})`],
    ["config", store.conf],
    ["other tools", `SOFTHSM2_CONF=${store.conf} pkcs11-tool --module ${module} -L`],
  ];
}

export function infoCommand(): Command {
  return new Command("info")
    .description("Show the module's C_GetInfo: Cryptoki version, manufacturer, library")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 info --module /usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so\n  $ tsp11 info --json | jq -r .cryptokiVersion",
    )
    .action(
      withContext<Record<string, never>>((_flags, ctx) => {
        let result;
        {
          using module = ctx.openModule();
          result = runInfo(module);
        }
        const { info } = result;
        if (ctx.output.json) {
          ctx.output.writeJson(info);
          return;
        }
        printRecord(ctx.output, [
          ["module", info.module],
          ["cryptoki", info.cryptokiVersion],
          ["manufacturer", info.manufacturer],
          ["library", `${info.libraryDescription} (version ${info.libraryVersion})`],
          ["interfaces", describeInterfaces(result.interfaceList)],
          ...storeRows(info.module, info.softhsm2),
        ]);
      }),
    );
}
