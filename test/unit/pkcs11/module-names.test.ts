import { describe, expect, it } from "vitest";
import { registeredModuleOf } from "../../../src/pkcs11/module-names.js";

describe("p11-kit registration files", () => {
  it("reads the module line, whatever surrounds it", () => {
    expect(registeredModuleOf("# c\nmodule: opensc-pkcs11.so\npriority: 1\n")).toBe(
      "opensc-pkcs11.so",
    );
    expect(registeredModuleOf("  module :  /usr/lib/x.so  \n")).toBe("/usr/lib/x.so");
  });

  it("has nothing for a file without one", () => {
    expect(registeredModuleOf("# only comments\ncritical: no\n")).toBeUndefined();
  });
});
