import { Command } from "commander";
import type { TokenKey } from "../core/find-key.js";
import { keySelectorOf } from "../core/find-key.js";
import type { SignaturePlan } from "../core/signing.js";
import { TspError, usageError } from "../errors.js";
import type { TokenSession } from "../pkcs11/session.js";
import { readInput } from "../files.js";
import type { SignFlags, TextEncoding } from "./sign-common.js";
import {
  addSignOptions,
  chunkBuffer,
  checkInputFile,
  decodeSignature,
  readFileOrChunks,
  stdinChunks,
} from "./sign-common.js";
import { withContext } from "./shared.js";

interface VerifyFlags extends SignFlags {
  signature?: string;
}

/** `verify --json` for one input. */
export interface VerifyJson {
  valid: boolean;
  mechanism: string;
}

/** `verify --json FILE...` (each FILE against FILE.sig). */
export interface VerifyBatchJson {
  file: string;
  signature: string;
  valid: boolean;
}

type Signing = typeof import("../core/signing.js");
/** The signature as the token takes it (ECDSA: raw r‖s), or undefined when it cannot be one. */
type Prepare = (bytes: Buffer) => Uint8Array | undefined;

/** The signature file, bounded as every whole input is. */
async function readSignature(path: string, encoding: TextEncoding | undefined): Promise<Buffer> {
  const bytes = await readInput(path, "signature");
  return decodeSignature(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), encoding);
}

/**
 * ECDSA signatures arrive DER-encoded by default (what openssl writes) or raw r‖s with
 * --format raw; without --format a signature that is not DER but has r‖s's exact length is
 * taken as raw. A DER signature that does not parse is no match (exit 7), not a usage error.
 */
async function preparer(plan: SignaturePlan, format: SignFlags["format"]): Promise<Prepare> {
  if (plan.keyType !== "ec" || format === "raw") return (bytes) => bytes;
  const fieldBytes = plan.fieldBytes;
  if (fieldBytes === undefined) {
    throw usageError("the key's curve is unknown: give the signature as raw r‖s (--format raw)");
  }
  const { ecdsaDerToRaw } = await import("../asn1/ecdsa.js");
  return (bytes) => {
    try {
      return ecdsaDerToRaw(bytes, fieldBytes);
    } catch {
      return format === undefined && bytes.length === 2 * fieldBytes ? bytes : undefined;
    }
  };
}

async function verifyPath(
  signing: Signing,
  session: TokenSession,
  key: TokenKey,
  plan: SignaturePlan,
  path: string,
  signature: Uint8Array,
  buffer: Buffer,
): Promise<boolean> {
  if (path === "-") return signing.verifyStream(session, key, plan, stdinChunks(buffer), signature);
  const input = readFileOrChunks(path, buffer);
  try {
    if (input.whole) return signing.verifyBytes(session, key, plan, input.whole, signature);
    return await signing.verifyStream(session, key, plan, input.chunks, signature);
  } finally {
    input.close();
  }
}

export function verifyCommand(): Command {
  const command = new Command("verify")
    .description(
      "Verify a signature on the token (exit 0 when it matches, 7 when it does not); FILE... checks each FILE.sig",
    )
    .argument("[files...]", "data files; each is checked against FILE.sig unless --signature")
    .option("--signature <file>", "the signature to check");
  return addSignOptions(command, "the signature file is base64 or hex text (default: binary)")
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  $ tsp11 verify -k key-1 --input data.txt --signature data.sig",
        "  $ tsp11 verify --id 0001 -m SHA384-RSA-PKCS-PSS --json *.tar.gz   # each against FILE.sig",
      ].join("\n"),
    )
    .action(
      withContext<VerifyFlags>(async (flags, ctx, files) => {
        if (flags.input !== undefined && files.length > 0) {
          throw usageError("give the data as --input or as FILE..., not both");
        }
        if (flags.signature !== undefined && files.length > 1) {
          throw usageError("--signature goes with one input; FILE... checks each FILE.sig");
        }
        const batch = flags.signature === undefined && files.length > 0;
        if (!batch && flags.signature === undefined) {
          throw usageError("missing --signature <file> (or give FILE... to check each FILE.sig)");
        }
        const pairs: [input: string, signature: string][] = batch
          ? files.map((file) => [file, `${file}.sig`])
          : [[files[0] ?? flags.input ?? "-", flags.signature ?? ""]];
        for (const [input, signature] of pairs) {
          checkInputFile(input);
          checkInputFile(signature, "signature");
        }
        const signing = await import("../core/signing.js");
        const selector = keySelectorOf(flags.key, flags.id, ctx.uri);
        const buffer = chunkBuffer();

        // Public keys are public objects: log in only when a PIN is given.
        using scope = await ctx.openToken({ login: "if-pin", rw: false });
        const { session } = scope;
        const key = signing.findVerifyingKey(session, selector);
        const plan = signing.planSignature(session, key, {
          mechanism: flags.mechanism,
          hash: flags.hash,
          mgf: flags.mgf,
          saltLen: flags.saltLen,
        });
        ctx.output.trace(plan.note);
        const prepare = await preparer(plan, flags.format);

        const results: VerifyBatchJson[] = [];
        for (const [input, signaturePath] of pairs) {
          const signature = prepare(await readSignature(signaturePath, flags.encoding));
          const valid =
            signature !== undefined &&
            (await verifyPath(signing, session, key, plan, input, signature, buffer));
          results.push({ file: input, signature: signaturePath, valid });
        }
        const bad = results.filter((result) => !result.valid);

        if (!batch) {
          const valid = bad.length === 0;
          if (ctx.output.json) {
            const result: VerifyJson = { valid, mechanism: plan.name };
            ctx.output.writeJson(result);
          } else if (valid && !ctx.output.settings.quiet) {
            ctx.output.write(`Signature is valid (${plan.name})\n`);
          }
          if (!valid) {
            throw new TspError(
              "verify",
              `verify signature: the signature does not match (${plan.name})`,
            );
          }
          return;
        }
        if (ctx.output.json) {
          ctx.output.writeJson(results);
        } else if (!ctx.output.settings.quiet) {
          for (const result of results) {
            ctx.output.write(`${result.file}: ${result.valid ? "OK" : "FAILED"}\n`);
          }
        }
        if (bad.length > 0) {
          throw new TspError(
            "verify",
            `verify signatures: ${bad.length} of ${results.length} do not match (${bad.map((b) => b.file).join(", ")})`,
          );
        }
      }),
    );
}
