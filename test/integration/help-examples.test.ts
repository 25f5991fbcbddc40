/**
 * The `--help` examples of keygen, write-object, read-object and edit-object run as written,
 * in that order, on a fresh SoftHSM token: the files they name are made first (and the two
 * objects no example makes: key-1's certificate and an exportable private key).
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import { BIN, PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

// The examples say --pin 1234: the helper's tokens have that user PIN.
const available = softhsmAvailable();
const COMMANDS = ["keygen", "write-object", "read-object", "edit-object"];

async function examples(token: TempToken, command: string): Promise<string[]> {
  const help = await token.tsp11([command, "--help"]);
  expect(help.code).toBe(0);
  return help.stdout
    .split("\n")
    .filter((line) => line.startsWith("  $ tsp11 "))
    .map((line) => line.slice(4));
}

describe.skipIf(!available)("--help examples", () => {
  it("run as written on a fresh token", async () => {
    await using token = await tempToken();
    const bin = token.path("bin");
    await mkdir(bin);
    await writeFile(join(bin, "tsp11"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    await chmod(join(bin, "tsp11"), 0o755);
    // Examples without --pin take it from the environment, as a user's shell would have it.
    const env = { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`, TSP11_PIN: PIN };
    const sh = async (line: string) => {
      const result = await token.exec(
        "bash",
        ["-c", `set -eo pipefail; cd "${token.dir}" && ${line}`],
        { env },
      );
      expect(result.code, `${line}\n${result.stderr}`).toBe(0);
      return result;
    };
    await sh("echo 'meeting notes' > notes.txt");
    await sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem");
    await sh(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj /CN=ca -outform DER -out ca.der",
    );
    await sh("echo secret > pass.txt");
    await sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout b.key -subj /CN=bundle -out b.crt");
    await sh(
      "openssl pkcs12 -export -inkey b.key -in b.crt -passout file:pass.txt -out bundle.p12",
    );
    for (const command of COMMANDS) {
      const lines = await examples(token, command);
      expect(lines.length, command).toBeGreaterThan(0);
      if (command === "write-object") {
        await sh("tsp11 cert -i key-1 -d /CN=key-1 -o key-1.pem");
        await sh("tsp11 keygen --key-type ec:P-256 --label test-key --no-sensitive --extractable");
      }
      for (const line of lines) await sh(line);
    }
    const listed = await token.tsp11(["list-objects", "--json", "--pin", PIN]);
    const labels = (JSON.parse(listed.stdout) as { label: string; id: string }[]).map(
      (o) => `${o.label}:${o.id}`,
    );
    // edit-object's examples renamed web and moved key-1's pair and certificate to 0a0b.
    expect(labels).toContain("key-1:0a0b");
    expect(labels.filter((l) => l.startsWith("www:"))).toHaveLength(2);
  });
});
