import { describe, expect, it } from "vitest";
import { EXIT_CODES, TspError } from "../../../src/errors.js";
import { ckrName, ckrOf, kindOfCkr, pkcs11Failure } from "../../../src/pkcs11/ckr.js";
import { ck, Pkcs11Error } from "../../../src/pkcs11/lib.js";

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

  it("turns a pkcs11js error into one line with the CKR name kept apart", () => {
    const native = new Pkcs11Error("CKR_PIN_INCORRECT:160", 160, "C_Login");
    expect(ckrOf(native)).toBe("CKR_PIN_INCORRECT");
    const error = pkcs11Failure(native, 'log in to token "demo"');
    expect(error).toBeInstanceOf(TspError);
    expect(error.message).toBe('log in to token "demo": incorrect PIN');
    expect(error.ckr).toBe("CKR_PIN_INCORRECT");
    expect(error.code).toBe("CKR_PIN_INCORRECT");
    expect(error.exitCode).toBe(4);
  });

  it("keeps other errors' text and lets a kind be forced", () => {
    const error = pkcs11Failure(new Error("dlopen failed"), "load module", "module");
    expect(error.message).toBe("load module: dlopen failed");
    expect(error.exitCode).toBe(5);
    expect(error.code).toBe("module");
  });
});
