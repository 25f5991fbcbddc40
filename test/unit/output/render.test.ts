import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { Output } from "../../../src/output/io.js";
import type { Column } from "../../../src/output/render.js";
import { displayWidth, fitWidths, printTable, shorten } from "../../../src/output/render.js";

/** An Output whose stdout is a terminal of `columns` (or a pipe), collecting what it prints. */
async function capture(tty: boolean, columns = 80) {
  const stdout = Object.assign(new PassThrough(), { isTTY: tty, columns });
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  let text = "";
  stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const output = await Output.create(
    { json: false, color: false, quiet: false, verbose: false },
    { stdout, stderr },
  );
  return { output, text: () => text };
}

interface Row {
  name: string;
  uri: string;
  note: string;
}

const columns: Column<Row>[] = [
  { header: "NAME", value: (r) => r.name, shrink: "end" },
  { header: "NOTE", value: (r) => r.note, optional: true },
  { header: "URI", value: (r) => r.uri, shrink: "middle", droppable: true },
];

const rows: Row[] = [
  { name: "a".repeat(60), uri: `pkcs11:token=t;${"x".repeat(80)};type=cert`, note: "" },
  { name: "b", uri: "pkcs11:token=t;object=b;type=private", note: "" },
];

describe("shorten", () => {
  it("cuts at the end or in the middle, with one ellipsis, to the exact width", () => {
    expect(shorten("abcdefghij", 6, "end")).toBe("abcde…");
    expect(shorten("abcdefghij", 6, "middle")).toBe("abc…ij");
    expect(shorten("short", 10, "middle")).toBe("short");
    expect(displayWidth(shorten("é".repeat(20), 7, "end"))).toBe(7);
  });
});

describe("fitWidths", () => {
  it("keeps natural widths that fit", () => {
    expect(fitWidths([10, 20], [true, true], 80)).toEqual([10, 20]);
  });

  it("caps the widest shrinkable columns first, leaving fixed ones alone", () => {
    // 3 columns: overhead 10; 5 fixed + budget 35 for the two shrinkable ones.
    expect(fitWidths([5, 10, 100], [false, true, true], 50)).toEqual([5, 10, 25]);
  });
});

describe("printTable", () => {
  it("fits a terminal's width, leaving out empty optional columns", async () => {
    const { output, text } = await capture(true, 60);
    await printTable(output, columns, rows);
    const lines = text().trimEnd().split("\n");
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(60);
    expect(text()).not.toContain("NOTE");
    expect(text()).toContain("…");
  });

  it("leaves out the URI when the terminal is too narrow for it to say anything", async () => {
    const { output, text } = await capture(true, 40);
    await printTable(output, columns, rows);
    expect(text()).not.toContain("URI");
    for (const line of text().trimEnd().split("\n"))
      expect(displayWidth(line)).toBeLessThanOrEqual(40);
  });

  it("shows everything whole with wide", async () => {
    const { output, text } = await capture(true, 40);
    await printTable(output, columns, rows, { wide: true });
    expect(text()).toContain(rows[0]?.uri);
    expect(text()).toContain(rows[0]?.name);
  });

  it("pipes whole values as TSV, with a header line on request, tabs in values as spaces", async () => {
    const { output, text } = await capture(false);
    await printTable(output, columns, [{ name: "a\tb", uri: "u", note: "" }], { header: true });
    expect(text()).toBe("NAME\tNOTE\tURI\na b\t\tu\n");
  });
});
