import { Command } from "commander";
import { keySelectorOf } from "../core/find-key.js";
import type { PublicKeyMaterial } from "../core/public-key.js";
import type { UnwrapKeyType } from "../core/unwrap.js";
import { parseUnwrapKeyType, runUnwrap, UNWRAP_KEY_TYPES } from "../core/unwrap.js";
import type { WrapName } from "../core/wrap.js";
import { parseWrapName, WRAP_NAMES } from "../core/wrap.js";
import { parseOaepHash } from "../core/encrypt.js";
import { usageError } from "../errors.js";
import { readInput } from "../files.js";
import type { HashName } from "../pkcs11/cipher.js";
import type { Usage } from "../options.js";
import { parseHexId, parseUsage } from "../options.js";
import { printRecord } from "../output/render.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";

interface UnwrapFlags {
  wrappingKey?: string;
  wrappingId?: Uint8Array;
  input?: string;
  keyType: UnwrapKeyType;
  label: string;
  id?: Uint8Array;
  usage?: Usage[];
  extractable?: boolean;
  mechanism?: WrapName;
  hash?: HashName;
  publicKey?: string;
}

export function unwrapCommand(): Command {
  return new Command("unwrap")
    .description("Import a wrapped key onto the token under an unwrapping key (C_UnwrapKey)")
    .option(
      "--wrapping-key <label>",
      "the unwrapping key's CKA_LABEL (AES secret or RSA private key)",
    )
    .option("--wrapping-id <hex>", "the unwrapping key's CKA_ID", parseHexId)
    .addOption(sharedOption("input", "the wrapped key (required)"))
    .addOption(oldSpelling("input"))
    .requiredOption("--key-type <type>", UNWRAP_KEY_TYPES.join(", "), parseUnwrapKeyType)
    .requiredOption("--label <label>", "the new key's CKA_LABEL")
    .option(
      "--id <hex>",
      "the new key's CKA_ID (default: SHA-1 of --public-key's value)",
      parseHexId,
    )
    .option(
      "--usage <list>",
      "sign, decrypt, derive, unwrap, encrypt, wrap (default: sign; encrypt,decrypt for secrets)",
      parseUsage,
    )
    .option("--extractable", "the new key may be wrapped again (CKA_EXTRACTABLE)")
    .option(
      "-m, --mechanism <mech>",
      `${WRAP_NAMES.join(", ")} (default: AES-KEY-WRAP-PAD, or RSA-PKCS-OAEP for an RSA key)`,
      parseWrapName,
    )
    .option("--hash <alg>", "RSA-PKCS-OAEP's hash (default sha256)", parseOaepHash)
    .option("--public-key <file>", "the private key's public half (PEM/DER), stored beside it")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ tsp11 unwrap --wrapping-key transport --input signer.wrapped --key-type ec --label signer \\",
        "      --public-key signer.pub.pem --pin 1234",
        "  $ tsp11 unwrap --wrapping-key rsa-transport --hash sha1 --input aes.wrapped --key-type aes --label k",
      ].join("\n"),
    )
    .action(
      withContext<UnwrapFlags>(async (flags, ctx) => {
        const unwrapping = keySelectorOf(
          flags.wrappingKey,
          flags.wrappingId,
          undefined,
          "--wrapping-key",
        );
        if (flags.input === undefined) throw usageError("unwrap: --input <file|-> is required");
        const wrapped = await readInput(flags.input, "wrapped key");
        let publicKey: PublicKeyMaterial | undefined;
        let id = flags.id;
        if (flags.publicKey !== undefined) {
          const [{ keyIdOf }, { prepareObject }] = await Promise.all([
            import("../core/public-key.js"),
            import("../core/write-object.js"),
          ]);
          const prepared = prepareObject("pubkey", await readInput(flags.publicKey, "public key"));
          if (prepared.type === "pubkey") publicKey = prepared.material;
          // keygen's SHA-1 rule, so a certificate written later pairs with the key.
          if (publicKey) id ??= keyIdOf(publicKey);
        }
        using scope = await ctx.openToken({ login: "required", rw: true });
        const result = await runUnwrap(scope, unwrapping, wrapped, {
          keyType: flags.keyType,
          label: flags.label,
          id,
          usage: flags.usage,
          extractable: flags.extractable,
          mechanism: flags.mechanism,
          hash: flags.hash,
          publicKey,
        });
        if (ctx.output.json) ctx.output.writeJson(result);
        else
          printRecord(ctx.output, [
            ["label", result.label],
            ["id", result.id],
            ["class", result.keyClass],
            ["key type", result.keyType],
            ["public key", result.publicKey ? "stored" : "none"],
          ]);
      }),
    );
}
