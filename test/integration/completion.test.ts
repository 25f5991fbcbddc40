/**
 * `tsp11 completion`: the generated bash script loaded in a real bash (`complete -p`), then
 * its function run as bash runs it on TAB, with COMP_* set, against a live token.
 */
import { symlink } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { TempToken } from "../helpers/softhsm.js";
import { BIN, PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

/** What bash offers for `line` (the cursor at its end), through the generated script. */
async function bashCompletes(token: TempToken, line: string): Promise<string[]> {
  const words = line.split(" ");
  const script = [
    "source <(tsp11 completion bash) || exit 9",
    `COMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}`,
    // bash's own split: ':' and '=' are word breaks (COMP_WORDBREAKS).
    `COMP_WORDS=(${words
      .flatMap((w) => w.split(/(?<=[:=])|(?=[:=])/))
      .map((w) => `'${w}'`)
      .join(" ")})`,
    "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))",
    "_tsp11_complete",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const result = await token.exec("bash", ["-c", script], {
    env: { PATH: `${token.path("bin")}:${process.env.PATH ?? ""}` },
  });
  expect(result.code).toBe(0);
  return result.stdout.split("\n").filter((l) => l !== "");
}

describe.skipIf(!available)("completion", () => {
  it("completes commands, options, values and live labels in a real bash", async () => {
    await using token = await tempToken({ label: "comp-token" });
    const { mkdir } = await import("node:fs/promises");
    await mkdir(token.path("bin"));
    await symlink(BIN, token.path("bin/tsp11"));
    const keygen = await token.tsp11([
      "keygen",
      "--key-type",
      "ec:prime256v1",
      "--label",
      "device-key",
      "--id",
      "0a0b",
      "--pin",
      PIN,
    ]);
    expect(keygen.code).toBe(0);

    const registered = await token.exec(
      "bash",
      ["-c", "source <(tsp11 completion bash); complete -p tsp11"],
      {
        env: { PATH: `${token.path("bin")}:${process.env.PATH ?? ""}` },
      },
    );
    expect(registered.stdout.trim()).toBe("complete -F _tsp11_complete tsp11");

    expect(await bashCompletes(token, "tsp11 key")).toEqual(["keygen"]);
    expect(await bashCompletes(token, "tsp11 list-objects --ty")).toEqual(["--type"]);
    expect(await bashCompletes(token, "tsp11 list-objects --type p")).toEqual([
      "privkey",
      "pubkey",
    ]);
    // bash broke "ec:secp" at the colon: only the part after it is replaced.
    expect(await bashCompletes(token, "tsp11 keygen --key-type ec:secp")).toEqual([
      "secp384r1",
      "secp521r1",
    ]);
    // Read live from the token, without a login: the public half's label and id.
    expect(await bashCompletes(token, "tsp11 sign -k dev")).toEqual(["device-key"]);
    expect(await bashCompletes(token, "tsp11 sign -i dev")).toEqual(["device-key"]); // old spelling
    expect(await bashCompletes(token, "tsp11 sign --id ")).toEqual(["0a0b"]);
    expect(await bashCompletes(token, "tsp11 list-objects -t comp")).toEqual(["comp-token"]);
    // File options get the shell's own file-name completion.
    expect(await bashCompletes(token, `tsp11 write-object -f ${token.path("softhsm2.c")}`)).toEqual(
      [token.path("softhsm2.conf")],
    );
  });

  it("prints scripts for zsh and fish, and refuses other shells (exit 2)", async () => {
    await using token = await tempToken({ init: false });
    const zsh = await token.tsp11(["completion", "zsh"]);
    expect(zsh.stdout).toMatch(/^#compdef tsp11\n/);
    expect(zsh.stdout).toContain("bashcompinit");
    const fish = await token.tsp11(["completion", "fish"]);
    expect(fish.stdout).toContain("complete -c tsp11 -f -a '(__tsp11_complete)'");
    const bad = await token.tsp11(["completion", "tcsh"]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
  });
});
