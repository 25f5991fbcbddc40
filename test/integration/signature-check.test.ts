/**
 * The check of each token signature before a request or certificate uses it
 * (src/core/token-signer.ts): on the token, with the public key object the request's key was
 * read from; on the host where that object cannot verify or there is none. Either way, a
 * public key object of another key under the private key's id is refused, and nothing is
 * written.
 */
import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openssl } from "../helpers/pki.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken, withPkcs11js } from "../helpers/softhsm.js";

/** pkcs11js lines that find the one object of a class and label (`handle` in scope after). */
const findOne = (name: string, cls: string, label: string) => `
p.C_FindObjectsInit(s, [{ type: p11.CKA_CLASS, value: p11.${cls} }, { type: p11.CKA_LABEL, value: "${label}" }]);
const ${name} = p.C_FindObjects(s, 2); p.C_FindObjectsFinal(s);
if (${name}.length !== 1) throw new Error("${label}: ${cls} x" + ${name}.length);`;

describe.skipIf(!softhsmAvailable())("the check of a token's signature", () => {
  let token: TempToken;
  /** A key pair "label" of the type, with the id (hex). */
  const keygen = async (keyType: string, label: string, id: string) => {
    const names = ["--label", label, "--id", id];
    const result = await token.tsp11(["keygen", "--key-type", keyType, ...names]);
    expect(result.code, result.stderr).toBe(0);
  };
  const req = (label: string, out: string, verbose = false) =>
    token.tsp11([...(verbose ? ["-v"] : []), "req", "-i", label, "-d", "/CN=check", "-o", out]);

  beforeAll(async () => {
    token = await tempToken();
    token.env.TSP11_PIN = PIN;
    await keygen("ec:prime256v1", "good", "01");
    // "stray": a private key whose id (0a) only a public key of another key ("other") has.
    await keygen("ec:prime256v1", "stray", "0a");
    await keygen("ec:prime256v1", "other", "0b");
    // "closed": a pair whose public key may not verify (CKA_VERIFY false).
    await keygen("ec:prime256v1", "closed", "0c");
    // "bare": an RSA private key without its public key object (read off the private key).
    await keygen("rsa:2048", "bare", "0d");
    await withPkcs11js(
      token,
      `${findOne("strayPublic", "CKO_PUBLIC_KEY", "stray")}
p.C_DestroyObject(s, strayPublic[0]);
${findOne("otherPublic", "CKO_PUBLIC_KEY", "other")}
p.C_SetAttributeValue(s, otherPublic[0], [{ type: p11.CKA_ID, value: Buffer.from([0x0a]) }]);
${findOne("closedPublic", "CKO_PUBLIC_KEY", "closed")}
p.C_SetAttributeValue(s, closedPublic[0], [{ type: p11.CKA_VERIFY, value: false }]);
${findOne("barePublic", "CKO_PUBLIC_KEY", "bare")}
p.C_DestroyObject(s, barePublic[0]);`,
    );
  });
  afterAll(async () => {
    await (token as TempToken | undefined)?.[Symbol.asyncDispose]();
  });

  it("verifies on the token with the public key object, as it was signed", async () => {
    const result = await req("good", token.path("good.csr"), true);
    expect(result.code, result.stderr).toBe(0);
    const calls = result.stderr.split("\n").filter((line) => /C_(Sign|Verify)\(/.test(line));
    expect(calls.map((line) => /C_\w+/.exec(line)?.[0])).toEqual(["C_Sign", "C_Verify"]);
    expect(result.stderr).toMatch(/C_Verify\(0x\w+, <32 bytes>, <64 bytes>\) -> CKR_OK/);
    const verified = await openssl(token, [
      "req",
      "-in",
      token.path("good.csr"),
      "-verify",
      "-noout",
    ]);
    expect(verified.stderr).toMatch(/verify OK/);
  });

  it("refuses a public key object of another key, in req and cert, and writes nothing", async () => {
    const out = token.path("stray");
    for (const args of [
      ["req", "-i", "stray", "-d", "/CN=stray", "-o", `${out}.csr`],
      ["cert", "-k", "stray", "-d", "/CN=stray", "-o", `${out}.pem`],
    ]) {
      const result = await token.tsp11(args);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toBe(
        "tsp11: check the signature: the token's signature does not verify with the public key of id 0a (does the public key object belong to this private key?)\n",
      );
    }
    expect((await readdir(token.dir)).filter((name) => name.startsWith("stray"))).toEqual([]);
  });

  it("verifies on the host where the public key object may not verify, or is absent", async () => {
    for (const label of ["closed", "bare"]) {
      const out = token.path(`${label}.csr`);
      const result = await req(label, out, true);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/C_Verify\(/);
      const verified = await openssl(token, ["req", "-in", out, "-verify", "-noout"]);
      expect(verified.stderr).toMatch(/verify OK/);
    }
  });
});
