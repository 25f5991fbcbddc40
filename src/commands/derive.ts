import { Command } from "commander";
import type { DeriveName, KdfName } from "../core/derive-options.js";
import {
  checkDerivedSpec,
  DERIVE_NAMES,
  KDF_NAMES,
  parseDeriveName,
  parseKdf,
} from "../core/derive-options.js";
import { keySelectorOf } from "../core/find-key.js";
import { readInput } from "../files.js";
import type { KeySpec, Usage } from "../options.js";
import { parseHexId, parseKeySpec, parseUsage } from "../options.js";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";

interface DeriveFlags {
  key?: string;
  keyId?: Uint8Array;
  peer: string;
  keyType: KeySpec;
  label: string;
  id?: Uint8Array;
  usage?: Usage[];
  mechanism?: DeriveName;
  kdf?: KdfName;
  extractable?: boolean;
  sensitive: boolean;
}

export function deriveCommand(): Command {
  return new Command("derive")
    .description("Derive a secret key on the token by ECDH with a peer's public key (C_DeriveKey)")
    .addOption(sharedOption("key", "the CKA_LABEL of the EC (or X25519) private key"))
    .addOption(oldSpelling("key"))
    .option("--key-id <hex>", "the CKA_ID of the EC (or X25519) private key", parseHexId)
    .requiredOption("--peer <file>", "the peer's public key (PEM or DER SubjectPublicKeyInfo)")
    .requiredOption("--key-type <type>", "aes:<bits> or generic:<bits>", parseKeySpec)
    .requiredOption("--label <label>", "the new key's CKA_LABEL")
    .option("--id <hex>", "the new key's CKA_ID (default: random)", parseHexId)
    .option(
      "--usage <list>",
      "encrypt, decrypt, sign, verify, wrap, unwrap, derive (default: encrypt,decrypt)",
      parseUsage,
    )
    .option(
      "-m, --mechanism <mech>",
      `${DERIVE_NAMES.join(", ")} (default: ECDH1-DERIVE)`,
      parseDeriveName,
    )
    .option("--kdf <kdf>", `${KDF_NAMES.join(", ")} (default: null, the raw secret)`, parseKdf)
    .option("--extractable", "the new key may be exported (CKA_EXTRACTABLE)")
    .option("--no-sensitive", "the new key is not sensitive (CKA_SENSITIVE false)")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ tsp11 derive --key ecdh --peer peer.pub.pem --key-type aes:256 --label shared --pin 1234",
        "  $ tsp11 derive --key ecdh --peer peer.pub.pem --key-type generic:256 --label s \\",
        "      --extractable --no-sensitive && tsp11 read-object --type secret --label s -o s.bin",
      ].join("\n"),
    )
    .action(
      withContext<DeriveFlags>(async (flags, ctx) => {
        const selector = keySelectorOf(flags.key, flags.keyId, ctx.uri, "--key");
        const spec = checkDerivedSpec(flags.keyType);
        const { parsePeerKey, runDerive } = await import("../core/derive.js");
        const peer = parsePeerKey(await readInput(flags.peer, "peer public key"));
        using scope = await ctx.openToken({ login: "required", rw: true });
        const result = await runDerive(scope, selector, peer, {
          spec,
          label: flags.label,
          id: flags.id,
          usage: flags.usage,
          mechanism: flags.mechanism,
          kdf: flags.kdf,
          extractable: flags.extractable,
          sensitive: flags.sensitive,
        });
        if (ctx.output.json) {
          ctx.output.writeJson(result);
          return;
        }
        printRecord(ctx.output, [
          ["label", result.label],
          ["id", result.id],
          ["type", `${result.keyType} ${result.bits ?? ""}`],
          ["usage", result.usage.join(",")],
          ["uri", result.uri],
        ]);
      }),
    );
}
