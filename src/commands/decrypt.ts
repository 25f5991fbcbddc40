import { Command } from "commander";
import type { ByteSink } from "../core/encrypt.js";
import { ivBytesOf } from "../core/encrypt.js";
import {
  aesStream,
  collectBlock,
  findDecryptionKey,
  planCipher,
  rsaDecrypt,
} from "../core/decrypt.js";
import { TspError, usageError } from "../errors.js";
import { readInput, StreamedOutput } from "../files.js";
import type { CipherFlags } from "./cipher-common.js";
import { addCipherOptions, prepareCipherRun, keyJson, openCipherInput } from "./cipher-common.js";
import { chunkBuffer } from "./sign-common.js";
import { withContext } from "./shared.js";

/** `decrypt --json`. */
export interface DecryptJson {
  mechanism: string;
  keyId: string;
  keyLabel: string;
  /** Bytes of plaintext. */
  length: number;
  output?: string;
  /** Without --output: the plaintext. */
  plaintextBase64?: string;
}

/** The IV: from --iv-out's file, from --iv, or (default) the input's first bytes. */
async function ivSource(flags: CipherFlags): Promise<Buffer | undefined> {
  if (flags.ivOut !== undefined) return Buffer.from(await readInput(flags.ivOut, "IV"));
  return undefined;
}

export function decryptCommand(): Command {
  const command = new Command("decrypt").description(
    "Decrypt data with a token key; a wrong key, tag or padding is exit 7 and writes nothing",
  );
  return addCipherOptions(command, "the input is base64 or hex text (default: binary)")
    .addHelpText(
      "after",
      [
        "",
        "Give the options `encrypt` got: the IV is read from the input's first bytes unless",
        "--iv-out (read from that file) or --no-iv-prefix (--iv gives it). A file output is",
        "renamed into place only once the token accepted the data (GCM tag, CBC padding);",
        "standard output gets nothing before then either.",
        "",
        "Examples:",
        "  $ tsp11 decrypt -k aes-key --pin 1234 --input backup.tar.enc --output backup.tar",
        "  $ tsp11 decrypt -k aes-key -m AES-CBC-PAD --iv-out iv.bin --input f.enc --output f",
        "  $ tsp11 decrypt -k rsa-key --hash sha1 --encoding base64 < secret.b64",
      ].join("\n"),
    )
    .action(
      withContext<CipherFlags>(async (flags, ctx) => {
        const { inputPath, selector, request, toFile, collectJson } = await prepareCipherRun(
          flags,
          ctx,
        );
        const fromFile = await ivSource(flags);

        using scope = await ctx.openToken({ login: "required", rw: false });
        const { session } = scope;
        const key = findDecryptionKey(session, selector);
        const mechanism =
          request.mechanism ?? (key.keyType === "rsa" ? "RSA-PKCS-OAEP" : "AES-GCM");
        const prefixed =
          key.keyType === "aes" &&
          ivBytesOf(mechanism) > 0 &&
          fromFile === undefined &&
          flags.ivPrefix !== false;
        if (
          key.keyType === "aes" &&
          ivBytesOf(mechanism) > 0 &&
          !prefixed &&
          fromFile === undefined &&
          flags.iv === undefined
        ) {
          throw usageError("--no-iv-prefix needs --iv (or --iv-out with the IV's file)");
        }
        const prefixBytes = prefixed ? (flags.iv?.length ?? ivBytesOf(mechanism)) : 0;
        const input = await openCipherInput(inputPath, chunkBuffer(), prefixBytes, flags.encoding);
        const held: Buffer[] = [];
        let out: StreamedOutput | undefined;
        let length = 0;
        try {
          if (prefixed && input.prefix.length < prefixBytes) {
            throw new TspError("verify", "decrypt: the input is shorter than its IV");
          }
          if (prefixed && flags.iv !== undefined && !input.prefix.equals(Buffer.from(flags.iv))) {
            throw new TspError("verify", "decrypt: the input's IV is not the one --iv gives");
          }
          const iv = fromFile ?? (prefixed ? input.prefix : flags.iv);
          const plan = planCipher(session, key, { ...request, iv }, "decrypt");
          out = collectJson
            ? undefined
            : new StreamedOutput(flags.output, {
                secret: true,
                holdStdout: true,
                what: "plaintext",
              });
          const sink: ByteSink = {
            write(bytes) {
              length += bytes.length;
              if (collectJson) held.push(Buffer.from(bytes));
              else out?.write(bytes);
            },
          };
          if (plan.keyType === "rsa") {
            const block = await collectBlock(input.chunks, plan.modulusBytes ?? 1024, plan.name);
            sink.write(rsaDecrypt(session, key, plan, block));
          } else {
            await aesStream(session, key, plan, "decrypt", input.chunks, sink);
          }
          out?.commit();
          if (ctx.output.json) {
            const result: DecryptJson = {
              mechanism: plan.name,
              ...keyJson(key),
              length,
              ...(toFile ? { output: flags.output } : {}),
              ...(collectJson ? { plaintextBase64: Buffer.concat(held).toString("base64") } : {}),
            };
            ctx.output.writeJson(result);
          }
        } catch (error) {
          out?.discard();
          throw error;
        } finally {
          input.close();
        }
      }),
    );
}
