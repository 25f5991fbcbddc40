/** keygen's further key types and attribute flags on SoftHSM 2.6, checked with pkcs11-tool and openssl. */
import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, softhsmAvailable, tempToken, withPkcs11js } from "../helpers/softhsm.js";

const available = softhsmAvailable();

interface KeygenJson {
  keyType: string;
  curve?: string;
  bits?: number;
  usage: string[];
  publicKeyPem?: string;
}

async function keygen(token: TempToken, type: string, label: string, ...flags: string[]) {
  return token.tsp11([
    "keygen",
    "--key-type",
    type,
    "--label",
    label,
    "--id",
    "01",
    ...flags,
    "--pin",
    PIN,
    "--json",
  ]);
}

/**
 * The public key's raw point as pkcs11-tool lists it (its EC_POINT without the OCTET STRING
 * header): pkcs11-tool cannot export brainpoolP384r1 or Ed448 keys, but lists every one.
 */
async function oraclePoint(token: TempToken): Promise<string> {
  const listed = await token.pkcs11Tool(["-O", "--type", "pubkey"]);
  const hex = /EC_POINT:\s+([0-9a-f]+)/.exec(listed.stdout)?.[1] ?? "";
  const second = parseInt(hex.slice(2, 4), 16);
  const header = second & 0x80 ? 2 + (second & 0x7f) : 2;
  return hex.slice(header * 2);
}

/** The raw key of an SPKI, as openssl sees it: the DER's trailing bytes. */
async function spkiDerHex(token: TempToken, pem: string): Promise<string> {
  const der = await token.exec("openssl", ["pkey", "-pubin", "-outform", "DER"], { input: pem });
  expect(der.code, der.stderr).toBe(0);
  return der.stdoutBytes.toString("hex");
}

describe.skipIf(!available)("keygen: more curves", () => {
  it.each([
    ["ec:secp256k1", "secp256k1"],
    ["ec:brainpoolP256r1", "brainpoolP256r1"],
    ["ec:brainpoolP384r1", "brainpoolP384r1"],
    ["ec:brainpoolP512r1", "brainpoolP512r1"],
    ["ed448", "ed448"],
  ])(
    "%s: the token's public key is what keygen printed, on openssl's curve",
    async (type, curve) => {
      await using token = await tempToken();
      const made = await keygen(token, type, "k");
      expect(made.code, made.stderr).toBe(0);
      const json = JSON.parse(made.stdout) as KeygenJson;
      expect(json.curve).toBe(curve);
      const point = await oraclePoint(token);
      expect(point.length).toBeGreaterThan(60);
      expect((await spkiDerHex(token, json.publicKeyPem ?? "")).endsWith(point)).toBe(true);
      const text = await token.exec("openssl", ["pkey", "-pubin", "-text", "-noout"], {
        input: json.publicKeyPem,
      });
      expect(text.stdout).toMatch(curve === "ed448" ? /ED448 Public-Key/ : new RegExp(curve));
      // The key signs, and openssl checks it.
      await writeFile(token.path("data"), "message");
      const sign = await token.tsp11([
        "sign",
        "-i",
        "k",
        "--input",
        token.path("data"),
        "--output",
        token.path("data.sig"),
        "--pin",
        PIN,
      ]);
      expect(sign.code, sign.stderr).toBe(0);
      await writeFile(token.path("pub.pem"), json.publicKeyPem ?? "");
      const verify =
        curve === "ed448"
          ? await token.exec("openssl", [
              "pkeyutl",
              "-verify",
              "-pubin",
              "-inkey",
              token.path("pub.pem"),
              "-rawin",
              "-in",
              token.path("data"),
              "-sigfile",
              token.path("data.sig"),
            ])
          : await token.exec("openssl", [
              "dgst",
              "-sha256",
              "-verify",
              token.path("pub.pem"),
              "-signature",
              token.path("data.sig"),
              token.path("data"),
            ]);
      expect(verify.stdout).toMatch(/Verified OK|Signature Verified Successfully/);
    },
  );

  it.each(["x25519", "x448"])(
    "%s: exit 2 naming CKM_EC_MONTGOMERY_KEY_PAIR_GEN and what the token generates",
    async (type) => {
      await using token = await tempToken();
      const refused = await keygen(token, type, "k");
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(
        `does not offer CKM_EC_MONTGOMERY_KEY_PAIR_GEN (${type}); it generates: rsa, ec, ed25519/ed448, aes, generic/hmac, des3`,
      );
      const listed = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
      expect(listed.stdout).not.toContain("label:");
    },
  );
});

describe.skipIf(!available)("keygen: secret key types", () => {
  it("hmac:256 is a generic secret that signs SHA256-HMAC as openssl computes it", async () => {
    await using token = await tempToken();
    const made = await keygen(token, "hmac:256", "mac", "--extractable", "--no-sensitive");
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({
      keyType: "generic-secret",
      bits: 256,
      usage: ["sign", "verify"],
    });
    const listed = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(listed.stdout).toContain("Secret Key Object; Generic secret length 32");
    await writeFile(token.path("data"), "message");
    const mac = await token.pkcs11Tool([
      "--login",
      "--pin",
      PIN,
      "--sign",
      "-m",
      "SHA256-HMAC",
      "--label",
      "mac",
      "--input-file",
      token.path("data"),
    ]);
    expect(mac.code, mac.stderr).toBe(0);
    const key = await token.tsp11([
      "read-object",
      "--type",
      "secret",
      "--label",
      "mac",
      "--pin",
      PIN,
    ]);
    const host = await token.exec("openssl", [
      "dgst",
      "-sha256",
      "-mac",
      "HMAC",
      "-macopt",
      `hexkey:${key.stdoutBytes.toString("hex")}`,
      "-binary",
      token.path("data"),
    ]);
    expect(host.stdoutBytes).toEqual(mac.stdoutBytes);
  });

  it("generic:128 and des3 are made with their mechanisms", async () => {
    await using token = await tempToken();
    const generic = await token.tsp11([
      "keygen",
      "--key-type",
      "generic:128",
      "--label",
      "g",
      "--pin",
      PIN,
      "--json",
    ]);
    expect(generic.code, generic.stderr).toBe(0);
    const des3 = await token.tsp11([
      "keygen",
      "--key-type",
      "des3",
      "--label",
      "d",
      "--pin",
      PIN,
      "--json",
    ]);
    expect(des3.code, des3.stderr).toBe(0);
    expect(JSON.parse(des3.stdout)).toMatchObject({
      keyType: "des3",
      usage: ["encrypt", "decrypt"],
    });
    const listed = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(listed.stdout).toContain("Secret Key Object; Generic secret length 16");
    expect(listed.stdout).toContain("Secret Key Object; DES3");
  });
});

describe.skipIf(!available)("keygen: attribute flags", () => {
  it("--always-auth, --allowed-mechanisms, --no-destroyable as pkcs11-tool shows; signing logs in for the key", async () => {
    await using token = await tempToken();
    const made = await keygen(
      token,
      "ec:P-256",
      "aa",
      "--always-auth",
      "--allowed-mechanisms",
      "ECDSA,ECDSA-SHA256",
      "--no-destroyable",
      "--usage",
      "sign,sign-recover",
    );
    expect(made.code, made.stderr).toBe(0);
    expect((JSON.parse(made.stdout) as KeygenJson).usage).toEqual(["sign", "sign-recover"]);
    const listed = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(listed.stdout).toContain(
      "Access:     always authenticate, sensitive, always sensitive, never extractable, local",
    );
    expect(listed.stdout).toContain("Allowed mechanisms: ECDSA,ECDSA-SHA256");
    const ours = await token.tsp11(["list-objects", "--type", "privkey", "--pin", PIN, "--json"]);
    expect(JSON.parse(ours.stdout)).toMatchObject([
      {
        alwaysAuthenticate: true,
        usage: ["sign", "sign-recover"],
        allowedMechanisms: ["ECDSA", "ECDSA-SHA256"],
      },
    ]);
    await writeFile(token.path("data"), "message");
    const sign = await token.tsp11([
      "sign",
      "-i",
      "aa",
      "--input",
      token.path("data"),
      "--output",
      token.path("data.sig"),
      "--pin",
      PIN,
      "-v",
    ]);
    expect(sign.code, sign.stderr).toBe(0);
    expect(sign.stderr).toMatch(/C_Login\(\S+, 2, \*\*\*\) -> CKR_OK/);
    expect(sign.stderr).not.toContain(PIN + ")");
    const refused = await token.tsp11([
      "delete-object",
      "--id",
      "01",
      "--type",
      "privkey",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'tsp11: delete-object: the token does not allow destroying private-key "aa" (CKA_DESTROYABLE is false); nothing was deleted (CKR_ACTION_PROHIBITED)\n',
    );
    // Without --type the pair is refused whole: the public half stays too.
    const pair = await token.tsp11(["delete-object", "--id", "01", "--yes", "--pin", PIN]);
    expect(pair.code).toBe(1);
    expect(pair.stderr).toContain('destroying private-key "aa", public-key "aa"');
    const left = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(left.stdout.match(/Key Object;/g)).toHaveLength(2);
    // What the unit test of the CKR table assumes: SoftHSM answers 0x1b, pkcs11js names it not.
    await withPkcs11js(
      token,
      `
const [key] = (p.C_FindObjectsInit(s, [{ type: p11.CKA_CLASS, value: p11.CKO_PRIVATE_KEY }]), p.C_FindObjects(s, 1));
p.C_FindObjectsFinal(s);
try { p.C_DestroyObject(s, key); throw new Error("destroyed"); }
catch (e) { if (e.message !== "CKR_VENDOR_DEFINED" || e.code !== 27) throw e; }
`,
    );
  });

  it("--no-sensitive and --no-modifiable (which needs --id for a pair)", async () => {
    await using token = await tempToken();
    const noId = await token.tsp11([
      "keygen",
      "--key-type",
      "ec:P-256",
      "--label",
      "m",
      "--no-modifiable",
      "--pin",
      PIN,
    ]);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain("--no-modifiable needs --id");
    const made = await keygen(token, "ec:P-256", "m", "--no-modifiable", "--no-sensitive");
    expect(made.code, made.stderr).toBe(0);
    const listed = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    expect(listed.stdout).toMatch(
      /Private Key Object; EC\n\s+label:\s+m\n\s+ID:\s+01\n\s+Usage:\s+sign\n\s+Access:\s+never extractable, local/,
    );
    const edit = await token.tsp11([
      "edit-object",
      "--id",
      "01",
      "--set-label",
      "n",
      "--yes",
      "--pin",
      PIN,
    ]);
    expect(edit.code).toBe(1);
    expect(edit.stderr).toContain("CKA_MODIFIABLE is false");
  });
});
