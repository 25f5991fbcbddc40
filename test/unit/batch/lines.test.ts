import { describe, expect, it } from "vitest";
import type { InputLine } from "../../../src/batch/run.js";
import { ndjsonLines } from "../../../src/batch/run.js";

async function collect(chunks: (string | Buffer)[], maxLine = 8): Promise<InputLine[]> {
  async function* source(): AsyncGenerator<Buffer> {
    for (const chunk of chunks) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    await Promise.resolve();
  }
  const lines: InputLine[] = [];
  for await (const line of ndjsonLines(source(), maxLine)) lines.push(line);
  return lines;
}

describe("ndjsonLines", () => {
  it("joins lines split across chunks and splits chunks holding several", async () => {
    expect(await collect(["a", "b\nc\n", "d"])).toEqual([
      { text: "ab" },
      { text: "c" },
      { text: "d" },
    ]);
  });

  it("drops a CR before the newline and keeps multi-byte characters whole", async () => {
    const euro = Buffer.from("€\n");
    expect(await collect(["x\r\n", euro.subarray(0, 1), euro.subarray(1)])).toEqual([
      { text: "x" },
      { text: "€" },
    ]);
  });

  it("reports a line over the limit and goes on with the next", async () => {
    expect(await collect(["12345", "6789\nok\n"])).toEqual([{ tooLong: 8 }, { text: "ok" }]);
    expect(await collect(["123456789"])).toEqual([{ tooLong: 8 }]);
    expect(await collect(["12345678\n"])).toEqual([{ text: "12345678" }]);
  });

  it("answers an endless line as soon as it passes the limit, before any newline", async () => {
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) yield await Promise.resolve(Buffer.alloc(4, 0));
    }
    const lines = ndjsonLines(endless(), 8);
    expect((await lines.next()).value).toEqual({ tooLong: 8 });
    await lines.return(undefined);
  });
});
