import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { digestInfo } from "../../../src/asn1/algorithms.js";
import {
  defaultMechanism,
  digestInfoOf,
  HASH_NAMES,
  mechanismsForKeyType,
  parseHash,
  parseMechanismName,
  parseMgf,
  parseSaltLen,
  SIGN_MECHANISM_NAMES,
  SIGN_MECHANISMS,
} from "../../../src/core/sign-mechanisms.js";
import { TspError } from "../../../src/errors.js";

function usageOf(fn: () => unknown): TspError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TspError) return error;
    throw error;
  }
  throw new Error("no error thrown");
}

describe("parseMechanismName", () => {
  it.each([
    ["SHA256-RSA-PKCS", "SHA256-RSA-PKCS"],
    ["sha256-rsa-pkcs", "SHA256-RSA-PKCS"],
    ["CKM_SHA384_RSA_PKCS_PSS", "SHA384-RSA-PKCS-PSS"],
    ["ckm_ecdsa", "ECDSA"],
    [" ecdsa-sha512 ", "ECDSA-SHA512"],
    ["EdDSA", "EDDSA"],
  ])("%s -> %s", (text, name) => {
    expect(parseMechanismName(text)).toBe(name);
  });

  it("refuses unknown names with the accepted list (exit 2)", () => {
    const error = usageOf(() => parseMechanismName("SHA1-RSA-PKCS"));
    expect(error.kind).toBe("usage");
    expect(error.message).toContain("SHA256-RSA-PKCS, SHA384-RSA-PKCS");
    expect(error.message).toContain("EDDSA");
  });
});

describe("hash, MGF and salt options", () => {
  it("reads hashes in several spellings", () => {
    expect(parseHash("sha256")).toBe("sha256");
    expect(parseHash("SHA-384")).toBe("sha384");
    expect(parseHash("SHA512")).toBe("sha512");
    expect(usageOf(() => parseHash("sha1")).kind).toBe("usage");
  });

  it("reads pkcs11-tool's MGF names and bare hashes", () => {
    expect(parseMgf("MGF1-SHA256")).toBe("sha256");
    expect(parseMgf("mgf1_sha512")).toBe("sha512");
    expect(parseMgf("sha384")).toBe("sha384");
    expect(usageOf(() => parseMgf("MGF1-SHA1")).message).toContain("MGF1-SHA256");
  });

  it("reads salt lengths, -1 and -2", () => {
    expect(parseSaltLen("0")).toBe(0);
    expect(parseSaltLen("32")).toBe(32);
    expect(parseSaltLen("-1")).toBe(-1);
    expect(parseSaltLen("-2")).toBe(-2);
    expect(usageOf(() => parseSaltLen("-3")).kind).toBe("usage");
    expect(usageOf(() => parseSaltLen("ten")).kind).toBe("usage");
  });
});

describe("mechanism table", () => {
  it("names the default by key type and --hash", () => {
    expect(defaultMechanism("rsa")).toBe("SHA256-RSA-PKCS");
    expect(defaultMechanism("rsa", "sha512")).toBe("SHA512-RSA-PKCS");
    expect(defaultMechanism("ec")).toBe("ECDSA-SHA256");
    expect(defaultMechanism("ec", "sha384")).toBe("ECDSA-SHA384");
    expect(defaultMechanism("ec-edwards")).toBe("EDDSA");
    expect(defaultMechanism("generic-secret", "sha384")).toBe("SHA384-HMAC");
    expect(usageOf(() => defaultMechanism("aes")).kind).toBe("usage");
  });

  it("lists the mechanisms of each key type", () => {
    expect(mechanismsForKeyType("rsa")).toHaveLength(8);
    expect(mechanismsForKeyType("ec")).toEqual([
      "ECDSA",
      "ECDSA-SHA256",
      "ECDSA-SHA384",
      "ECDSA-SHA512",
    ]);
    expect(mechanismsForKeyType("ec-edwards")).toEqual(["EDDSA"]);
  });

  it("gives every hashing mechanism but HMAC a raw fallback of the same key type", () => {
    for (const name of SIGN_MECHANISM_NAMES) {
      const spec = SIGN_MECHANISMS[name];
      if (spec.scheme === "hmac") continue;
      expect(spec.raw === undefined).toBe(spec.hash === undefined);
      if (spec.raw !== undefined) {
        expect(SIGN_MECHANISMS[spec.raw].keyType).toBe(spec.keyType);
        expect(SIGN_MECHANISMS[spec.raw].hash).toBeUndefined();
      }
    }
  });
});

describe("digestInfoOf", () => {
  it.each(HASH_NAMES)("matches the schema-built DigestInfo for %s", (hash) => {
    const digest = createHash(hash).update("tsp11").digest();
    expect(Buffer.from(digestInfoOf(hash, digest)).toString("hex")).toBe(
      Buffer.from(digestInfo(hash, digest)).toString("hex"),
    );
  });

  it("refuses a digest of the wrong length", () => {
    expect(usageOf(() => digestInfoOf("sha256", new Uint8Array(48))).message).toMatch(
      /32 bytes, the input has 48/,
    );
  });
});
