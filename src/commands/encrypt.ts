import { Command } from "commander";
import type { ByteSink } from "../core/encrypt.js";
import {
  aesStream,
  collectBlock,
  findEncryptionKey,
  maxRsaInput,
  planCipher,
  rsaEncrypt,
} from "../core/encrypt.js";
import { usageError } from "../errors.js";
import { StreamedOutput, writeOutput } from "../files.js";
import type { CipherFlags } from "./cipher-common.js";
import {
  addCipherOptions,
  prepareCipherRun,
  keyJson,
  openCipherInput,
  TextEncoder,
} from "./cipher-common.js";
import { chunkBuffer } from "./sign-common.js";
import { withContext } from "./shared.js";

/** `encrypt --json`. */
export interface EncryptJson {
  mechanism: string;
  keyId: string;
  keyLabel: string;
  /** "host": RSA encrypted by node from the token's public key (it could not encrypt). */
  path: "token" | "host";
  ivHex?: string;
  tagBits?: number;
  /** Bytes of ciphertext (the IV prefix included). */
  length: number;
  output?: string;
  /** Without --output: the binary output (IV prefix included). */
  ciphertextBase64?: string;
}

export function encryptCommand(): Command {
  const command = new Command("encrypt").description(
    "Encrypt data with a token key (AES streamed through C_EncryptUpdate; RSA one block)",
  );
  return addCipherOptions(command, "write base64 or hex text (default: binary)")
    .addHelpText(
      "after",
      [
        "",
        "The IV / nonce is written before the ciphertext unless --iv-out or --no-iv-prefix,",
        "so `decrypt` with the same options reverses `encrypt`.",
        "",
        "Examples:",
        "  $ tsp11 encrypt -k aes-key --pin 1234 --input backup.tar --output backup.tar.enc",
        "  $ tsp11 encrypt -k aes-key -m AES-CBC-PAD --iv-out iv.bin --input f --output f.enc",
        "  $ tsp11 encrypt -k rsa-key --hash sha1 --input secret.txt --encoding base64",
      ].join("\n"),
    )
    .action(
      withContext<CipherFlags>(async (flags, ctx) => {
        const { inputPath, selector, request, toFile, collectJson } = await prepareCipherRun(
          flags,
          ctx,
        );

        using scope = await ctx.openToken({ login: "required", rw: false });
        const { session } = scope;
        const key = findEncryptionKey(session, selector);
        const plan = planCipher(session, key, request, "encrypt");
        if (plan.iv && flags.ivPrefix === false && flags.iv === undefined) {
          throw usageError("--no-iv-prefix needs --iv (else the random IV would be lost)");
        }

        const held: Buffer[] = [];
        const out = collectJson
          ? undefined
          : new StreamedOutput(flags.output, {
              secret: false,
              holdStdout: false,
              what: "ciphertext",
            });
        const encoder =
          flags.encoding && !collectJson ? new TextEncoder(flags.encoding) : undefined;
        const sink: ByteSink = {
          write(bytes) {
            if (collectJson) held.push(Buffer.from(bytes));
            else out?.write(encoder ? encoder.encode(bytes) : bytes);
          },
        };
        const input = await openCipherInput(inputPath, chunkBuffer(), 0, undefined);
        let length = 0;
        let path: "token" | "host" = "token";
        try {
          if (plan.iv && flags.ivOut !== undefined) {
            await writeOutput(flags.ivOut, plan.iv, "IV");
          } else if (plan.iv && flags.ivPrefix !== false) {
            sink.write(plan.iv);
            length += plan.iv.length;
          }
          if (plan.keyType === "rsa") {
            const block = await collectBlock(input.chunks, maxRsaInput(plan) ?? 1024, plan.name);
            const result = rsaEncrypt(session, key, plan, block);
            path = result.path;
            sink.write(result.output);
            length += result.output.length;
          } else {
            length += await aesStream(session, key, plan, "encrypt", input.chunks, sink);
          }
          if (encoder) out?.write(encoder.end());
          out?.commit();
        } catch (error) {
          out?.discard();
          throw error;
        } finally {
          input.close();
        }
        if (path === "host") {
          ctx.output.trace(
            `${plan.name}: the token's public key cannot encrypt; encrypted on the host from it`,
          );
        }
        if (plan.iv && flags.iv === undefined && !ctx.output.json) {
          ctx.output.info(`iv: ${plan.iv.toString("hex")}`);
        }
        if (ctx.output.json) {
          const result: EncryptJson = {
            mechanism: plan.name,
            ...keyJson(key),
            path,
            ...(plan.iv ? { ivHex: plan.iv.toString("hex") } : {}),
            ...(plan.tagBits !== undefined ? { tagBits: plan.tagBits } : {}),
            length,
            ...(toFile ? { output: flags.output } : {}),
            ...(collectJson ? { ciphertextBase64: Buffer.concat(held).toString("base64") } : {}),
          };
          ctx.output.writeJson(result);
        }
      }),
    );
}
