import { Command, Option } from "commander";
import type { ReqOutcome } from "../core/req.js";
import { parseHexId } from "../options.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";
import { keySelectorOf } from "../core/find-key.js";
import { isStdout, writeOutput } from "../files.js";

const HASHES = ["sha256", "sha384", "sha512"] as const;

interface ReqFlags {
  key?: string;
  id?: Uint8Array;
  subject: string;
  san?: string;
  hash?: (typeof HASHES)[number];
  pss?: boolean;
  output?: string;
  der?: boolean;
}

export function reqCommand(): Command {
  return new Command("req")
    .description("Create a PKCS#10 certificate request signed on the token")
    .addOption(sharedOption("key", "the private key's CKA_LABEL (or its certificate's)"))
    .addOption(oldSpelling("key"))
    .option("--id <hex>", "the private key's CKA_ID", parseHexId)
    .requiredOption(
      "-d, --subject <dn>",
      "subject, /C=US/O=Example/CN=a (OpenSSL) or CN=a,O=Example,C=US (RFC 4514)",
    )
    .option("--san <list>", "subjectAltName: DNS:x,IP:1.2.3.4,email:a@b,URI:u")
    .addOption(
      new Option("--hash <alg>", "digest of the signature (default sha256)").choices(HASHES),
    )
    .option("--pss", "RSA-PSS signature (salt = hash length) instead of PKCS#1 v1.5")
    .addOption(sharedOption("output", "write the request to a file instead of stdout"))
    .addOption(oldSpelling("output"))
    .option("--der", "DER instead of PEM")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 req -k key-1 -d /CN=www.example.com --san DNS:www.example.com -o key-1.csr --pin 1234\n  $ tsp11 req --id 0001 -d 'CN=a,O=Example,C=US' --hash sha384 --pin 1234 | openssl req -noout -text",
    )
    .action(
      withContext<ReqFlags>(async (flags, ctx) => {
        const { prepareReq, runReq } = await import("../core/req.js");
        // Key selector, DN and SANs are checked before the token is opened (exit 2, no PIN asked).
        const selector = keySelectorOf(flags.key, flags.id, ctx.uri);
        const prepared = prepareReq({
          subject: flags.subject,
          san: flags.san,
          hash: flags.hash,
          pss: flags.pss === true,
        });
        let outcome: ReqOutcome;
        {
          using scope = await ctx.openToken({ login: "required", rw: false });
          outcome = await runReq(scope, selector, prepared, {
            warn: (message) => {
              ctx.output.warn(message);
            },
          });
        }
        const body = flags.der === true ? outcome.der : outcome.result.pem;
        const out = isStdout(flags.output) ? undefined : flags.output;
        if (out !== undefined) await writeOutput(out, body, "certificate request");
        if (ctx.output.json) {
          ctx.output.writeJson(outcome.result);
          return;
        }
        if (out !== undefined) return;
        if (typeof body === "string") ctx.output.write(body);
        else ctx.output.writeBytes(body);
      }),
    );
}
