import { Command } from "commander";
import type { TokenKey } from "../core/find-key.js";
import { findSigningKey, keySelectorOf } from "../core/find-key.js";
import type { SignaturePlan } from "../core/signing.js";
import { usageError } from "../errors.js";
import { isStdout, writeOutput } from "../files.js";
import type { TokenSession } from "../pkcs11/session.js";
import type { SignFlags } from "./sign-common.js";
import {
  addSignOptions,
  chunkBuffer,
  checkInputFile,
  encodeSignature,
  readFileOrChunks,
  stdinChunks,
} from "./sign-common.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";

interface SignCommandFlags extends SignFlags {
  output?: string;
}

/** `sign --json` for one input. */
export interface SignJson {
  mechanism: string;
  keyId: string;
  keyLabel: string;
  /** ECDSA only: the encoding of the signature bytes. */
  format?: "der" | "raw";
  signatureBase64: string;
  /** The file written, when --output names one. */
  output?: string;
}

/** `sign --json FILE...`: one entry per file, in order. */
export interface SignBatchJson {
  file: string;
  signature: string;
  output: string;
}

type Finish = (raw: Buffer) => Uint8Array;
type Signing = typeof import("../core/signing.js");

/** ECDSA's raw r‖s to the requested encoding (DER by default); other signatures as they are. */
async function finisher(plan: SignaturePlan, format: SignFlags["format"]): Promise<Finish> {
  if (plan.keyType !== "ec" || format === "raw") return (raw) => raw;
  const { ecdsaRawToDer } = await import("../asn1/ecdsa.js");
  return (raw) => ecdsaRawToDer(raw);
}

/**
 * Signs one path: a small file in one C_Sign, synchronously (a batch of thousands pays no
 * promise per file); large files and stdin streamed.
 */
function signPath(
  signing: Signing,
  session: TokenSession,
  key: TokenKey,
  plan: SignaturePlan,
  path: string,
  buffer: Buffer,
): Buffer | Promise<Buffer> {
  if (path === "-") return signing.signStream(session, key, plan, stdinChunks(buffer));
  const input = readFileOrChunks(path, buffer);
  if (input.whole) {
    try {
      return signing.signBytes(session, key, plan, input.whole);
    } finally {
      input.close();
    }
  }
  return signing.signStream(session, key, plan, input.chunks).finally(input.close);
}

export function signCommand(): Command {
  const command = new Command("sign")
    .description("Sign data with a token key (FILE... signs each file into FILE.sig)")
    .argument("[files...]", "files to sign in one session, each into FILE.sig")
    .addOption(sharedOption("output", "write the signature here (default: stdout)"))
    .addOption(oldSpelling("output"));
  return addSignOptions(command, "write the signature as base64 or hex text (default: binary)")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ tsp11 sign -k key-1 --input data.txt -o data.sig --pin 1234",
        "  $ tsp11 sign -k ec-key --format raw --encoding hex --pin 1234 < data.txt",
        "  $ tsp11 sign --id 0001 -m SHA384-RSA-PKCS-PSS --pin 1234 *.tar.gz   # writes *.tar.gz.sig",
      ].join("\n"),
    )
    .action(
      withContext<SignCommandFlags>(async (flags, ctx, files) => {
        const batch = files.length > 0;
        if (batch && (flags.input !== undefined || flags.output !== undefined)) {
          throw usageError("FILE... signs each file into FILE.sig: give no --input or --output");
        }
        const inputPath = flags.input ?? "-";
        // Inputs and key selector are checked before the token is opened (exit 2, no PIN asked).
        for (const file of batch ? files : [inputPath]) checkInputFile(file);
        const signing = await import("../core/signing.js");
        const selector = keySelectorOf(flags.key, flags.id, ctx.uri);
        const buffer = chunkBuffer();

        using scope = await ctx.openToken({ login: "required", rw: false });
        const { session } = scope;
        const key = findSigningKey(session, selector);
        const plan = signing.planSignature(session, key, {
          mechanism: flags.mechanism,
          hash: flags.hash,
          mgf: flags.mgf,
          saltLen: flags.saltLen,
        });
        ctx.output.trace(plan.note);
        const finish = await finisher(plan, flags.format);

        if (batch) {
          const results: SignBatchJson[] = [];
          for (const file of files) {
            const raw = signPath(signing, session, key, plan, file, buffer);
            const signature = finish(raw instanceof Promise ? await raw : raw);
            const output = `${file}.sig`;
            await writeOutput(output, encodeSignature(signature, flags.encoding), "signature");
            if (ctx.output.json) {
              results.push({
                file,
                signature: Buffer.from(signature).toString("base64"),
                output,
              });
            }
          }
          if (ctx.output.json) ctx.output.writeJson(results);
          else ctx.output.info(`signed ${files.length} file(s) with ${plan.name}`);
          return;
        }

        const signature = finish(await signPath(signing, session, key, plan, inputPath, buffer));
        const output = isStdout(flags.output) ? undefined : flags.output;
        if (output !== undefined) {
          await writeOutput(output, encodeSignature(signature, flags.encoding), "signature");
        }
        if (ctx.output.json) {
          const result: SignJson = {
            mechanism: plan.name,
            keyId: Buffer.from(key.id).toString("hex"),
            keyLabel: key.label,
            ...(plan.keyType === "ec" ? { format: flags.format ?? "der" } : {}),
            signatureBase64: Buffer.from(signature).toString("base64"),
            ...(output !== undefined ? { output } : {}),
          };
          ctx.output.writeJson(result);
        } else if (output === undefined) {
          ctx.output.writeBytes(encodeSignature(signature, flags.encoding));
        }
      }),
    );
}
