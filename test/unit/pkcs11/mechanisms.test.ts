import { describe, expect, it } from "vitest";
import { flagsOf } from "../../../src/core/list-mechanisms.js";
import { mechanismName } from "../../../src/pkcs11/mechanisms.js";

describe("mechanism names", () => {
  it("uses pkcs11-tool's names, the PKCS#11 3.0 ones pkcs11js lacks, and hex for the rest", () => {
    expect(mechanismName(0x40)).toBe("SHA256-RSA-PKCS");
    expect(mechanismName(0x220)).toBe("SHA-1");
    expect(mechanismName(0x1040)).toBe("ECDSA-KEY-PAIR-GEN");
    expect(mechanismName(0x1055)).toBe("EC-EDWARDS-KEY-PAIR-GEN");
    expect(mechanismName(0x1057)).toBe("EDDSA");
    expect(mechanismName(0x2b0)).toBe("SHA3-256");
    expect(mechanismName(0x80000001)).toBe("0x80000001");
    expect(mechanismName(0x4242)).toBe("0x4242");
  });

  it("names mechanism flags and keeps unnamed bits as hex", () => {
    expect(flagsOf(0x2800)).toEqual(["CKF_SIGN", "CKF_VERIFY"]);
    expect(flagsOf(0x1800000 | 0x100000 | 0x2800)).toEqual([
      "CKF_SIGN",
      "CKF_VERIFY",
      "CKF_EC_F_P",
      "CKF_EC_NAMEDCURVE",
      "CKF_EC_UNCOMPRESS",
    ]);
    expect(flagsOf(0x2 | 0x100)).toEqual(["CKF_ENCRYPT", "0x2"]);
    expect(flagsOf(0x80000000)).toEqual(["0x80000000"]);
  });
});
