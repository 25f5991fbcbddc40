/**
 * Tables on a real terminal (a pseudo-terminal from script(1), sized with stty): they fit its
 * width, certificates show subject and expiry in columns of their own, --wide shows all.
 */
import { describe, expect, it } from "vitest";
import { displayWidth } from "../../src/output/render.js";
import type { TempToken } from "../helpers/softhsm.js";
import { BIN, PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

const LONG_LABEL = "a-key-label-long-enough-to-need-shortening-on-any-terminal";

/** tsp11 run on a terminal `columns` wide; what the terminal shows, CRs dropped. */
async function onTerminal(token: TempToken, columns: number, args: string[]): Promise<string> {
  const quoted = args.map((arg) => `'${arg.replace(/'/g, "'\\''")}'`).join(" ");
  const shell = `stty cols ${columns} rows 50; exec '${process.execPath}' '${BIN}' ${quoted}`;
  const result = await token.exec("script", ["-qec", shell, "/dev/null"], {
    env: { NO_COLOR: "1" },
  });
  expect(result.code).toBe(0);
  return result.stdout.replace(/\r/g, "");
}

describe.skipIf(!available)("tables on a terminal", () => {
  it("fit 100 and 80 columns; --wide shows every value whole", async () => {
    await using token = await tempToken();
    const keygen = await token.tsp11([
      "keygen",
      "--key-type",
      "ec:prime256v1",
      "--label",
      LONG_LABEL,
      "--pin",
      PIN,
    ]);
    expect(keygen.code).toBe(0);
    const certPath = token.path("c.pem");
    const cert = await token.tsp11([
      "cert",
      "--key",
      LONG_LABEL,
      "--subject",
      "/O=Example Organisation Incorporated/CN=device-42.example.com",
      "--days",
      "30",
      "--pin",
      PIN,
      "-o",
      certPath,
    ]);
    expect(cert.code).toBe(0);
    expect(
      (await token.tsp11(["write-object", "--type", "cert", "-f", certPath, "--pin", PIN])).code,
    ).toBe(0);

    const table = await onTerminal(token, 100, ["list-objects", "--pin", PIN]);
    const lines = table.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(100);
    expect(lines[1]).toMatch(/CLASS .*LABEL .*SUBJECT .*EXPIRES/);
    const certRow = lines.find((line) => line.includes("certificate")) ?? "";
    expect(certRow).toMatch(/ x509 /);
    expect(certRow).toMatch(/CN=dev/);
    expect(certRow).toMatch(/ \d{4}-\d{2}-\d{2} /);
    expect(table).toContain("…");

    const slots = await onTerminal(token, 80, ["list-slots", "--all"]);
    for (const line of slots.trimEnd().split("\n"))
      expect(displayWidth(line)).toBeLessThanOrEqual(80);

    const wide = await onTerminal(token, 100, ["list-objects", "--pin", PIN, "--wide"]);
    expect(wide).toContain(LONG_LABEL);
    expect(wide).toContain("CN=device-42.example.com,O=Example Organisation Incorporated");
    expect(wide).toContain(";type=cert");
  });

  it("pipes the documented TSV columns, named by --header", async () => {
    await using token = await tempToken();
    const result = await token.tsp11(["list-objects", "--header"]);
    expect(result.stdout).toBe("CLASS\tLABEL\tID\tTYPE\tUSAGE\tFLAGS\tURI\tSUBJECT\tEXPIRES\n");
  });
});
