import { describe, expect, it } from "vitest";
import { EXIT_CODES, TspError } from "../../../src/errors.js";
import { ckrName, ckrOf, kindOfCkr, pkcs11Failure } from "../../../src/pkcs11/ckr.js";
import { ck } from "../../../src/pkcs11/lib.js";

describe("CKR table", () => {
  it.each([
    ["CKR_PIN_INCORRECT", 4],
    ["CKR_PIN_LOCKED", 4],
    ["CKR_USER_NOT_LOGGED_IN", 4],
    ["CKR_TOKEN_NOT_PRESENT", 3],
    ["CKR_SLOT_ID_INVALID", 3],
    ["CKR_MECHANISM_INVALID", 2],
    ["CKR_SIGNATURE_INVALID", 7],
    ["CKR_CANT_LOCK", 5],
    ["CKR_DEVICE_ERROR", 1],
    ["CKR_FUNCTION_FAILED", 1],
  ])("%s exits %d", (name, exit) => {
    expect(EXIT_CODES[kindOfCkr(name)]).toBe(exit);
  });

  it("names codes, vendor codes as hex", () => {
    expect(ckrName(ck.CKR_PIN_INCORRECT)).toBe("CKR_PIN_INCORRECT");
    expect(ckrName(0x80000001)).toBe("CKR_0x80000001");
  });

  it("turns the addon's error into one line with the CKR name kept apart", () => {
    const native = new Error("CKR_PIN_INCORRECT:160");
    expect(ckrOf(native)).toBe("CKR_PIN_INCORRECT");
    const error = pkcs11Failure(native, 'log in to token "demo"');
    expect(error).toBeInstanceOf(TspError);
    expect(error.message).toBe('log in to token "demo": incorrect PIN');
    expect(error.ckr).toBe("CKR_PIN_INCORRECT");
    expect(error.code).toBe("CKR_PIN_INCORRECT");
    expect(error.exitCode).toBe(4);
  });

  it("names the PKCS#11 2.40/3.0 codes pkcs11js calls CKR_VENDOR_DEFINED", () => {
    // pkcs11js's native layer reports 0x1b as "CKR_VENDOR_DEFINED:27".
    const native = new Error("CKR_VENDOR_DEFINED:27");
    expect(ckrOf(native)).toBe("CKR_ACTION_PROHIBITED");
    const error = pkcs11Failure(native, 'delete private-key "k"');
    expect(error.ckr).toBe("CKR_ACTION_PROHIBITED");
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/does not allow this on the object .*CKA_DESTROYABLE/);
    expect(ckrOf(new Error("CKR_VENDOR_DEFINED:320"))).toBe("CKR_CURVE_NOT_SUPPORTED");
    expect(ckrOf(new Error("CKR_VENDOR_DEFINED:53"))).toBe("CKR_AEAD_DECRYPT_FAILED");
    for (const [code, name] of [
      [0x1c3, "CKR_PIN_TOO_WEAK"],
      [0x1c4, "CKR_PUBLIC_KEY_INVALID"],
      [0x200, "CKR_FUNCTION_REJECTED"],
      [0x201, "CKR_TOKEN_RESOURCE_EXCEEDED"],
      [0x202, "CKR_OPERATION_CANCEL_FAILED"],
    ] as const) {
      expect(ckrName(code)).toBe(name);
    }
    // A real vendor code stays as pkcs11js says it.
    const vendor = new Error("CKR_VENDOR_DEFINED:2147483649");
    expect(ckrOf(vendor)).toBe("CKR_VENDOR_DEFINED");
  });

  it("keeps other errors' text and lets a kind be forced", () => {
    const error = pkcs11Failure(new Error("dlopen failed"), "load module", "module");
    expect(error.message).toBe("load module: dlopen failed");
    expect(error.exitCode).toBe(5);
    expect(error.code).toBe("module");
  });
});
