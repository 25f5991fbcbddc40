import { Command, Option } from "commander";
import type { KeygenResult } from "../core/keygen.js";
import { parseMechanismList } from "../mechanism-list.js";
import { parseHexId, parseKeySpec, parseUsage } from "../options.js";
import type { KeySpec, Usage } from "../options.js";
import type { Output } from "../output/io.js";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";

interface KeygenFlags {
  keyType: KeySpec;
  label: string;
  id?: Uint8Array;
  usage?: Usage[];
  usageSign?: boolean;
  usageDecrypt?: boolean;
  usageDerive?: boolean;
  usageWrap?: boolean;
  extractable?: boolean;
  force?: boolean;
  sensitive: boolean;
  alwaysAuth?: boolean;
  allowedMechanisms?: number[];
  destroyable: boolean;
  modifiable: boolean;
}

/** --usage plus pkcs11-tool's --usage-sign style flags. */
function requestedUsage(flags: KeygenFlags): Usage[] | undefined {
  const words = new Set<Usage>(flags.usage ?? []);
  if (flags.usageSign) words.add("sign");
  if (flags.usageDecrypt) words.add("decrypt");
  if (flags.usageDerive) words.add("derive");
  if (flags.usageWrap) words.add("wrap");
  return words.size > 0 ? [...words] : undefined;
}

/** A line on a terminal's stderr while a slow generation runs (the call blocks, so no spinner). */
function slowNotice(output: Output): ((what: string) => () => void) | undefined {
  if (!output.stderrTTY || output.settings.quiet) return undefined;
  return (what) => {
    const started = Date.now();
    output.streams.stderr.write(`${what}…`);
    return () => {
      output.streams.stderr.write(` done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    };
  };
}

export function keygenCommand(): Command {
  return new Command("keygen")
    .description("Generate a key pair or secret key on the token")
    .requiredOption(
      "--key-type <type>",
      "rsa:<bits>, ec:<curve>, ed25519, ed448, x25519, x448, aes:<bits>, generic:<bits>, hmac:<bits>, des3",
      parseKeySpec,
    )
    .requiredOption("--label <label>", "CKA_LABEL of the new key")
    .option("--id <hex>", "CKA_ID (default: SHA-1 of the public key)", parseHexId)
    .option(
      "--usage <list>",
      "sign,verify,encrypt,decrypt,derive,wrap,unwrap,sign-recover (default: sign; encrypt,decrypt for aes and des3; sign,verify for generic and hmac; derive for x25519/x448)",
      parseUsage,
    )
    .addOption(new Option("--usage-sign").hideHelp())
    .addOption(new Option("--usage-decrypt").hideHelp())
    .addOption(new Option("--usage-derive").hideHelp())
    .addOption(new Option("--usage-wrap").hideHelp())
    .option("--extractable", "let the private or secret key be exported (off by default)")
    .option("--no-sensitive", "the private or secret key is not sensitive (CKA_SENSITIVE false)")
    .option("--always-auth", "the PIN is needed again before each use (CKA_ALWAYS_AUTHENTICATE)")
    .option(
      "--allowed-mechanisms <list>",
      "the only mechanisms the key may be used with (CKA_ALLOWED_MECHANISMS)",
      parseMechanismList,
    )
    .option("--no-destroyable", "the keys cannot be deleted (CKA_DESTROYABLE false)")
    .option("--no-modifiable", "the keys' attributes cannot change (CKA_MODIFIABLE false)")
    .option("--force", "replace keys with the same label or id")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 keygen --key-type rsa:2048 --label key-1 --id 0001\n  $ tsp11 keygen --key-type ec:prime256v1 --label web --json | jq -r .publicKeyPem\n  $ tsp11 keygen --key-type hmac:256 --label mac-key --no-sensitive --extractable",
    )
    .action(
      withContext<KeygenFlags>(async (flags, ctx) => {
        const { runKeygen } = await import("../core/keygen.js");
        let result: KeygenResult;
        {
          using scope = await ctx.openToken({ login: "required", rw: true });
          result = await runKeygen(
            scope,
            {
              spec: flags.keyType,
              label: flags.label,
              id: flags.id,
              usage: requestedUsage(flags),
              extractable: flags.extractable === true,
              force: flags.force === true,
              pem: ctx.output.json,
              flags: {
                sensitive: flags.sensitive,
                alwaysAuthenticate: flags.alwaysAuth === true,
                allowedMechanisms: flags.allowedMechanisms,
                destroyable: flags.destroyable,
                modifiable: flags.modifiable,
              },
            },
            {
              warn: (message) => {
                ctx.output.warn(message);
              },
              slow: slowNotice(ctx.output),
            },
          );
        }
        if (ctx.output.json) {
          ctx.output.writeJson(result);
          return;
        }
        printRecord(ctx.output, [
          ["label", result.label],
          ["id", result.id],
          [
            "type",
            result.bits !== undefined
              ? `${result.keyType} ${result.bits}`
              : `${result.keyType} ${result.curve ?? ""}`,
          ],
          ["usage", result.usage.join(",")],
          ["uri", result.uri],
        ]);
      }),
    );
}
