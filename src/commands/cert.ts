import { Command, InvalidArgumentError, Option } from "commander";
import type { CertResult } from "../core/cert.js";
import { TspError } from "../errors.js";
import { parseHexId } from "../options.js";
import { withContext } from "./shared.js";
import { oldSpelling, sharedOption } from "./vocabulary.js";
import { keySelectorOf } from "../core/find-key.js";
import { isStdout, readInput, writeOutput } from "../files.js";

const HASHES = ["sha256", "sha384", "sha512"] as const;

interface CertFlags {
  key?: string;
  id?: Uint8Array;
  subject?: string;
  san?: string;
  csr?: string;
  issuerCert?: string;
  days: number;
  setSerial?: Uint8Array;
  ca?: boolean;
  hash?: (typeof HASHES)[number];
  pss?: boolean;
  output?: string;
  der?: boolean;
  import?: boolean;
}

function parseDays(text: string): number {
  const days = Number(text);
  if (!/^\d+$/.test(text) || days < 1) throw new InvalidArgumentError("a whole number of days");
  return days;
}

export function certCommand(): Command {
  return new Command("cert")
    .description(
      "Make an X.509 certificate signed on the token: self-signed, or issued for a request",
    )
    .addOption(sharedOption("key", "the signing private key's CKA_LABEL (or its certificate's)"))
    .addOption(oldSpelling("key"))
    .option("--id <hex>", "the signing private key's CKA_ID", parseHexId)
    .option("-d, --subject <dn>", "self-signed: the subject (OpenSSL or RFC 4514 form)")
    .option(
      "--san <list>",
      "subjectAltName: DNS:x,IP:1.2.3.4,email:a@b,URI:u (default: the request's)",
    )
    .option(
      "--csr <file>",
      "issue a certificate for this request (PEM or DER), signed by the token key",
    )
    .option("--issuer-cert <file>", "with --csr: the token key's CA certificate (names the issuer)")
    .option("--days <n>", "validity in days", parseDays, 365)
    .option("--set-serial <hex>", "serial number, hex (default: 16 random bytes)", parseHexId)
    .option("--ca", "a CA certificate (basicConstraints CA, keyCertSign, cRLSign)")
    .addOption(
      new Option("--hash <alg>", "digest of the signature (default sha256)").choices(HASHES),
    )
    .option("--pss", "RSA-PSS signature instead of PKCS#1 v1.5")
    .addOption(sharedOption("output", "write the certificate to a file instead of stdout"))
    .addOption(oldSpelling("output"))
    .option("--der", "DER instead of PEM")
    .option("--import", "self-signed: also store the certificate on the token next to its key")
    .addHelpText(
      "after",
      "\nExamples:\n  $ tsp11 cert -k ca-key -d '/CN=Device CA' --ca --days 3650 -o ca.pem --pin 1234\n  $ tsp11 cert -k ca-key --csr device.csr --issuer-cert ca.pem -o device.pem --pin 1234\n  $ tsp11 cert -k key-1 -d /CN=test --import --pin 1234 --json | jq -r .notAfter",
    )
    .action(
      withContext<CertFlags>(async (flags, ctx) => {
        const { prepareCert, runCert } = await import("../core/cert.js");
        if (flags.import === true && flags.csr !== undefined) {
          throw new TspError(
            "usage",
            "cert: --import stores a self-signed certificate; an issued one belongs to the requester",
          );
        }
        const selector = keySelectorOf(flags.key, flags.id, ctx.uri);
        const prepared = prepareCert({
          subject: flags.subject,
          san: flags.san,
          csr: flags.csr === undefined ? undefined : await readInput(flags.csr, "request"),
          issuerCert:
            flags.issuerCert === undefined
              ? undefined
              : await readInput(flags.issuerCert, "issuer certificate"),
          days: flags.days,
          serial: flags.setSerial,
          ca: flags.ca === true,
          hash: flags.hash,
          pss: flags.pss === true,
        });
        const warn = (message: string) => {
          ctx.output.warn(message);
        };
        let made: { der: Uint8Array; result: CertResult };
        {
          using scope = await ctx.openToken({ login: "required", rw: flags.import === true });
          made = await runCert(scope, selector, prepared, { warn });
          if (flags.import === true) {
            const { prepareObject, runWriteObject } = await import("../core/write-object.js");
            await runWriteObject(
              scope,
              prepareObject("cert", made.der),
              { force: false, private: false },
              { warn },
            );
          }
        }
        const body = flags.der === true ? made.der : made.result.pem;
        const out = isStdout(flags.output) ? undefined : flags.output;
        if (out !== undefined) await writeOutput(out, body, "certificate");
        if (ctx.output.json) {
          ctx.output.writeJson(made.result);
          return;
        }
        if (out !== undefined) return;
        if (typeof body === "string") ctx.output.write(body);
        else ctx.output.writeBytes(body);
      }),
    );
}
