/**
 * `-i/--key` on a real SoftHSM token when the key has no CKA_LABEL but its certificate has
 * (NSS's way): the key is found through the certificate's CKA_ID. Oracle: openssl verifies
 * the signature with the certificate's public key.
 */
import { describe, expect, it } from "vitest";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

function ok(result: RunResult): RunResult {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  return result;
}

/** An EC key written by pkcs11-tool without a label, and a certificate labelled `label`. */
async function unlabelledKeyWithCert(token: TempToken, label: string, id: string) {
  const key = token.path(`${id}.key`);
  const der = token.path(`${id}.der`);
  const cert = token.path(`${id}.crt`);
  ok(
    await token.exec("openssl", [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      key,
    ]),
  );
  ok(
    await token.exec("openssl", [
      "pkcs8",
      "-topk8",
      "-nocrypt",
      "-in",
      key,
      "-outform",
      "DER",
      "-out",
      der,
    ]),
  );
  ok(
    await token.exec("openssl", [
      "req",
      "-x509",
      "-new",
      "-key",
      key,
      "-subj",
      `/CN=${label}`,
      "-days",
      "30",
      "-out",
      cert,
    ]),
  );
  ok(
    await token.pkcs11Tool([
      "--login",
      "--pin",
      PIN,
      "--write-object",
      der,
      "--type",
      "privkey",
      "--id",
      id,
    ]),
  );
  ok(
    await token.tsp11([
      "write-object",
      "--type",
      "cert",
      "-f",
      cert,
      "--label",
      label,
      "--id",
      id,
      "--pin",
      PIN,
    ]),
  );
  return { key, cert };
}

describe.skipIf(!available)("-i/--key through a certificate's label", () => {
  it("signs with the unlabelled key whose certificate carries the name", async () => {
    await using token = await tempToken();
    const { cert } = await unlabelledKeyWithCert(token, "web server", "0a");
    await unlabelledKeyWithCert(token, "other", "0b");
    const listed = JSON.parse(
      ok(await token.tsp11(["list-objects", "--type", "privkey", "--json", "--pin", PIN])).stdout,
    ) as { label: string; id: string }[];
    expect(listed.map((o) => `${o.id}:${o.label}`).sort()).toEqual(["0a:", "0b:"]);

    const data = token.path("data.txt");
    const sig = token.path("data.sig");
    ok(await token.exec("sh", ["-c", `printf 'by certificate label\\n' > "${data}"`]));
    ok(
      await token.tsp11([
        "sign",
        "-i",
        "web server",
        "--input",
        data,
        "--output",
        sig,
        "--pin",
        PIN,
      ]),
    );
    const pub = token.path("pub.pem");
    ok(await token.exec("openssl", ["x509", "-in", cert, "-pubkey", "-noout", "-out", pub]));
    ok(await token.exec("openssl", ["dgst", "-sha256", "-verify", pub, "-signature", sig, data]));

    // The label and an id that disagree with the certificate name nothing.
    const wrongId = await token.tsp11([
      "sign",
      "-i",
      "web server",
      "--id",
      "0b",
      "--input",
      data,
      "--pin",
      PIN,
    ]);
    expect(wrongId.code).toBe(3);
    expect(wrongId.stderr).toBe(
      'tsp11: find key: no private key with label "web server" and id 0b on the token\n',
    );
  });

  it("prefers a key that carries the label itself", async () => {
    await using token = await tempToken();
    await unlabelledKeyWithCert(token, "dup", "0c");
    const keygen = JSON.parse(
      ok(
        await token.tsp11([
          "keygen",
          "--key-type",
          "ec:P-256",
          "--label",
          "dup",
          "--id",
          "0d",
          "--json",
          "--pin",
          PIN,
        ]),
      ).stdout,
    ) as { publicKeyPem: string };
    const data = token.path("data.txt");
    const sig = token.path("data.sig");
    ok(await token.exec("sh", ["-c", `printf 'labelled key\\n' > "${data}"`]));
    ok(await token.tsp11(["sign", "-i", "dup", "--input", data, "--output", sig, "--pin", PIN]));
    const pub = token.path("pub.pem");
    ok(await token.exec("sh", ["-c", `cat > "${pub}"`], { input: keygen.publicKeyPem }));
    ok(await token.exec("openssl", ["dgst", "-sha256", "-verify", pub, "-signature", sig, data]));
  });
});
