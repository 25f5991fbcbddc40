/**
 * planSignature's decisions from a module's mechanism list. The session is a stand-in for
 * TokenSession that answers hasMechanism only (planning calls nothing else); signing itself
 * is tested against SoftHSM in test/integration/sign.test.ts.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { TokenKey } from "../../../src/core/find-key.js";
import {
  availableMechanisms,
  hostDigest,
  planSignature,
  SMALL_INPUT_BYTES,
} from "../../../src/core/signing.js";
import { TspError } from "../../../src/errors.js";
import { SIGN_CKM } from "../../../src/pkcs11/crypto.js";
import type { TokenSession } from "../../../src/pkcs11/session.js";

function sessionWith(names: string[]): TokenSession {
  const offered = new Set(names.map((name) => SIGN_CKM[name]));
  return { hasMechanism: (mechanism: number) => offered.has(mechanism) } as unknown as TokenSession;
}

// SoftHSM 2.6.1: no ECDSA-SHAxxx. p11-kit remoting: no SHAxxx-RSA-PKCS-PSS.
const SOFTHSM = sessionWith(Object.keys(SIGN_CKM).filter((name) => !name.startsWith("ECDSA-")));
const P11KIT = sessionWith(
  Object.keys(SIGN_CKM).filter((name) => !/^SHA\d+-RSA-PKCS-PSS$/.test(name)),
);
const NO_RSA_PKCS = sessionWith(["SHA256-RSA-PKCS", "RSA-PKCS-PSS"]);

const rsa: TokenKey = {
  handle: Buffer.alloc(8),
  cls: "private-key",
  keyType: "rsa",
  label: "rk",
  id: Uint8Array.of(1),
  bits: 2048,
};
const ec = (curve: string): TokenKey => ({
  ...rsa,
  keyType: "ec",
  label: "ek",
  bits: undefined,
  curve,
});
const ed: TokenKey = {
  ...rsa,
  keyType: "ec-edwards",
  label: "ed",
  bits: undefined,
  curve: "ed25519",
};

function errorOf(fn: () => unknown): TspError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TspError) return error;
    throw error;
  }
  throw new Error("no error thrown");
}

describe("planSignature", () => {
  it("signs SHA256-RSA-PKCS on the token by default, streaming, into a modulus-sized buffer", () => {
    const plan = planSignature(SOFTHSM, rsa);
    expect(plan).toMatchObject({
      name: "SHA256-RSA-PKCS",
      tokenName: "SHA256-RSA-PKCS",
      path: "token",
      streaming: true,
      signatureBytes: 256,
      digestInfo: false,
      scheme: { kind: "rsa-pkcs1", hash: "sha256" },
    });
    expect(plan.note).toContain("on the token");
  });

  it("hashes on the host and signs with CKM_ECDSA where the module has no ECDSA-SHA256", () => {
    const plan = planSignature(SOFTHSM, ec("prime256v1"));
    expect(plan).toMatchObject({
      name: "ECDSA-SHA256",
      tokenName: "ECDSA",
      path: "host",
      hostHash: "sha256",
      streaming: true,
      signatureBytes: 64,
      fieldBytes: 32,
      scheme: { kind: "ecdsa", hash: "sha256" },
    });
    expect(plan.mechanism).toEqual({ mechanism: SIGN_CKM.ECDSA });
    expect(plan.note).toContain("no CKM_ECDSA_SHA256; hashing with sha256 on the host");
  });

  it("picks the variant of --hash and sizes P-521 signatures", () => {
    const plan = planSignature(SOFTHSM, ec("secp521r1"), { hash: "sha512" });
    expect(plan.name).toBe("ECDSA-SHA512");
    expect(plan.signatureBytes).toBe(132);
  });

  it("falls back to CKM_RSA_PKCS_PSS with parameters where SHAxxx-RSA-PKCS-PSS is missing", () => {
    const plan = planSignature(P11KIT, rsa, { mechanism: "SHA384-RSA-PKCS-PSS" });
    expect(plan.path).toBe("host");
    expect(plan.tokenName).toBe("RSA-PKCS-PSS");
    expect(plan.pss).toEqual({ hash: "sha384", mgf: "sha384", saltLen: 48 });
    expect(plan.mechanism.parameter).toMatchObject({ saltLen: 48 });
  });

  it("falls back to a DigestInfo over CKM_RSA_PKCS", () => {
    const plan = planSignature(sessionWith(["RSA-PKCS"]), rsa, { mechanism: "SHA512-RSA-PKCS" });
    expect(plan).toMatchObject({ path: "host", tokenName: "RSA-PKCS", digestInfo: true });
  });

  it("takes --salt-len -1, -2 and a byte count, and refuses one too long", () => {
    const pss = (saltLen: number) =>
      planSignature(SOFTHSM, rsa, { mechanism: "SHA256-RSA-PKCS-PSS", saltLen }).pss?.saltLen;
    expect(pss(-1)).toBe(32);
    expect(pss(-2)).toBe(256 - 32 - 2);
    expect(pss(0)).toBe(0);
    expect(errorOf(() => pss(223)).message).toContain("at most 222");
  });

  it("makes RSA-PKCS-PSS take a digest of --hash", () => {
    const plan = planSignature(SOFTHSM, rsa, { mechanism: "RSA-PKCS-PSS", hash: "sha512" });
    expect(plan).toMatchObject({ streaming: false, inputLength: 64, pss: { saltLen: 64 } });
  });

  it("limits raw RSA-PKCS input to the modulus less 11 bytes", () => {
    expect(planSignature(SOFTHSM, rsa, { mechanism: "RSA-PKCS" }).maxInput).toBe(245);
  });

  it("signs Ed25519 with EDDSA into 64 bytes", () => {
    expect(planSignature(SOFTHSM, ed)).toMatchObject({
      name: "EDDSA",
      signatureBytes: 64,
      streaming: false,
      scheme: { kind: "ed25519" },
    });
  });

  it("refuses a mechanism of another key type, listing what the key can do", () => {
    const error = errorOf(() =>
      planSignature(SOFTHSM, ec("prime256v1"), { mechanism: "SHA256-RSA-PKCS" }),
    );
    expect(error.kind).toBe("usage");
    expect(error.message).toBe(
      'SHA256-RSA-PKCS needs an RSA key; key "ek" is ec and can use: ECDSA, ECDSA-SHA256, ECDSA-SHA384, ECDSA-SHA512',
    );
  });

  it("refuses a mechanism the module lacks without a raw form", () => {
    const error = errorOf(() => planSignature(NO_RSA_PKCS, rsa, { mechanism: "SHA384-RSA-PKCS" }));
    expect(error.message).toMatch(
      /neither CKM_SHA384_RSA_PKCS nor CKM_RSA_PKCS; key "rk" can use: SHA256-RSA-PKCS, RSA-PKCS-PSS, SHA256-RSA-PKCS-PSS, SHA384-RSA-PKCS-PSS, SHA512-RSA-PKCS-PSS$/,
    );
    // The PSS ones through CKM_RSA_PKCS_PSS with a host digest.
    expect(availableMechanisms(NO_RSA_PKCS, "rsa")).toEqual([
      "SHA256-RSA-PKCS",
      "RSA-PKCS-PSS",
      "SHA256-RSA-PKCS-PSS",
      "SHA384-RSA-PKCS-PSS",
      "SHA512-RSA-PKCS-PSS",
    ]);
  });

  it("refuses options that do not fit the mechanism", () => {
    expect(errorOf(() => planSignature(SOFTHSM, rsa, { mgf: "sha256" })).message).toContain(
      "PSS options",
    );
    expect(
      errorOf(() => planSignature(SOFTHSM, rsa, { mechanism: "SHA384-RSA-PKCS", hash: "sha256" }))
        .message,
    ).toContain("conflicts with SHA384-RSA-PKCS");
    expect(errorOf(() => planSignature(SOFTHSM, ed, { hash: "sha256" })).message).toContain(
      "does not apply to EDDSA",
    );
  });

  it("refuses keys that do not sign", () => {
    const des3: TokenKey = { ...rsa, keyType: "des3", bits: undefined };
    expect(errorOf(() => planSignature(SOFTHSM, des3)).message).toContain("is a des3 key");
    const aes: TokenKey = { ...rsa, keyType: "aes", bits: undefined };
    expect(errorOf(() => planSignature(SOFTHSM, aes)).message).toContain("-m SHA256-HMAC");
  });
});

describe("hostDigest", () => {
  it("gives node:crypto's digest on both sides of the small-input bound", () => {
    const sizes = [0, 1, 55, 56, 64, 111, 112, 128, SMALL_INPUT_BYTES, SMALL_INPUT_BYTES + 1];
    for (const hash of ["sha256", "sha384", "sha512"] as const) {
      for (const size of sizes) {
        const data = Uint8Array.from({ length: size }, (_, index) => (index * 31 + size) & 0xff);
        const expected = createHash(hash).update(data).digest("hex");
        expect(hostDigest(hash, data).toString("hex"), `${hash} of ${size} bytes`).toBe(expected);
      }
    }
  });
});
