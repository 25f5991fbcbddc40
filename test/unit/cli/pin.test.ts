import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { padTokenLabel } from "../../../src/core/init-token.js";
import { parseSlotIndex } from "../../../src/options.js";
import { givenPin, Pin } from "../../../src/pin.js";
import { pinLengthRange } from "../../../src/pkcs11/pin-hints.js";

describe("Pin", () => {
  it("never prints its value", () => {
    const pin = new Pin("s3cret");
    expect(String(pin)).toBe("***");
    expect(JSON.stringify({ pin })).toBe('{"pin":"***"}');
    expect(inspect(pin)).not.toContain("s3cret");
    expect(pin.reveal()).toBe("s3cret");
  });

  it("reads exactly one trailing newline off a PIN file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsp11-pin-"));
    const file = join(dir, "pin");
    writeFileSync(file, "1234\n\n");
    expect((await givenPin({ file }))?.reveal()).toBe("1234\n");
    writeFileSync(file, "1234\r\n");
    expect((await givenPin({ file }))?.reveal()).toBe("1234");
  });

  it("takes env:NAME, and an empty PIN is a PIN", async () => {
    process.env.TSP11_TEST_PIN_VALUE = "9999";
    expect((await givenPin({ value: "env:TSP11_TEST_PIN_VALUE" }))?.reveal()).toBe("9999");
    expect((await givenPin({ value: "" }))?.reveal()).toBe("");
    expect(await givenPin({})).toBeUndefined();
  });

  it("refuses two sources, a missing file and one over 1 MiB (exit 2)", async () => {
    await expect(givenPin({ value: "1", file: "/nonexistent" })).rejects.toThrow(
      /either --pin or --pin-file/,
    );
    await expect(givenPin({ file: "/nonexistent/pin" })).rejects.toThrow(/no such file/);
    await expect(givenPin({ file: "/dev/zero" })).rejects.toThrow(
      "read PIN file /dev/zero: larger than 1 MiB",
    );
  });
});

describe("padTokenLabel", () => {
  it("pads to 32 bytes counting UTF-8 bytes", () => {
    expect(padTokenLabel("demo")).toHaveLength(32);
    const padded = padTokenLabel("zoë");
    expect(Buffer.byteLength(padded)).toBe(32);
  });

  it("refuses empty and over-long labels", () => {
    expect(() => padTokenLabel("")).toThrow(/must not be empty/);
    expect(() => padTokenLabel("é".repeat(17))).toThrow(/34 bytes long/);
  });
});

describe("PIN length words and --slot-index", () => {
  it("says the token's limits, leaving out CK_UNAVAILABLE_INFORMATION", () => {
    expect(pinLengthRange(4, 255)).toBe("4 to 255");
    expect(pinLengthRange(6, 0xffffffff)).toBe("at least 6");
    expect(pinLengthRange(2 ** 64 - 1, 8)).toBe("at most 8");
    expect(pinLengthRange(0xffffffff, 0xffffffff)).toBeUndefined();
  });

  it("takes 0-based slot indexes only", () => {
    expect(parseSlotIndex("0")).toBe(0);
    expect(parseSlotIndex(" 3 ")).toBe(3);
    for (const bad of ["-1", "0x1", "1.5", "", "one"]) {
      expect(() => parseSlotIndex(bad)).toThrow(/invalid slot index/);
    }
  });
});
