/**
 * README.md runs: its ```sh and ```bash blocks, in order, in one bash on a fresh TSP11_HOME (the
 * embedded SoftHSM2 store, nothing else of the developer's environment), with bin/tsp11 on
 * the PATH as `tsp11`. Each block runs under `set -eEo pipefail`; the first failing command
 * names its block and README line.
 *
 * Convention: a block whose info string is `sh` or `bash` runs; `sh no-run` (installation
 * with apt, another machine's socket, a TPM stack) and blocks of any other kind do not. An
 * example that shows an error says so in the shell itself (`|| [ $? -eq 6 ]`), so the
 * exit code is checked too. The one rewrite: the serve block's port 8443 becomes a free
 * port, so that parallel runs do not collide.
 */
import { readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../helpers/ports.js";
import { BIN, cleanEnv, runCommand, softhsmAvailable } from "../helpers/softhsm.js";

const README = resolve(import.meta.dirname, "../../README.md");
const available = softhsmAvailable();

interface Block {
  /** README line of the block's first command. */
  line: number;
  text: string;
}

/** The runnable blocks: fences whose info string is exactly `sh` or `bash`. */
export function runnableBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(.*)$/.exec(lines[i] ?? "");
    if (!fence) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith("```"));
    if (["sh", "bash"].includes((fence[1] ?? "").trim())) {
      blocks.push({ line: i + 2, text: lines.slice(i + 1, end).join("\n") });
    }
    i = end;
  }
  return blocks;
}

/** One script: each block sourced from its own file, so LINENO counts from the block's start. */
function script(dir: string, blocks: Block[]): string {
  const parts = [
    "set -eEo pipefail",
    // A block that fails leaves no server behind.
    "trap 'kill $(jobs -p) 2> /dev/null || true' EXIT",
    `cd "${dir}/work"`,
    `trap 'echo "README.md line $((START + LINENO - 1)) (block at $START) failed: $BASH_COMMAND" >&2' ERR`,
  ];
  blocks.forEach((block, n) => {
    parts.push(`START=${block.line}; source "${dir}/blocks/${n}.sh"`);
  });
  parts.push("echo README-DONE");
  return parts.join("\n");
}

describe.skipIf(!available)("README.md", () => {
  it("the marked blocks find the examples", () => {
    const blocks = runnableBlocks(readFileSync(README, "utf8"));
    // The provisioning example stays the first command.
    expect(blocks[0]?.text.split("\n")[0]).toMatch(/^tsp11 init-token --label demo /);
    expect(blocks.length).toBeGreaterThan(15);
    // The blocks that do not run stay few: installation, serve on /run or 0.0.0.0 with TLS,
    // p11-kit's server and client, NSS, the TPM stack.
    expect(readFileSync(README, "utf8").match(/^```sh no-run$/gm)).toHaveLength(6);
  });

  it("runs top to bottom on a fresh store", { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "tsp11-readme-"));
    try {
      const port = await freePort();
      const blocks = runnableBlocks(readFileSync(README, "utf8")).map((b) => ({
        ...b,
        text: b.text.includes("tsp11 serve") ? b.text.replaceAll("8443", String(port)) : b.text,
      }));
      await mkdir(join(dir, "blocks"));
      await mkdir(join(dir, "work"));
      await mkdir(join(dir, "bin"));
      await writeFile(
        join(dir, "bin", "tsp11"),
        `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`,
      );
      await chmod(join(dir, "bin", "tsp11"), 0o755);
      for (const [n, block] of blocks.entries()) {
        await writeFile(join(dir, "blocks", `${n}.sh`), `${block.text}\n`);
      }
      const env = cleanEnv({
        TSP11_HOME: join(dir, "home"),
        HOME: join(dir, "work"),
        PATH: `${join(dir, "bin")}${delimiter}${process.env.PATH ?? ""}`,
      });
      const result = await runCommand("bash", ["-c", script(dir, blocks)], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain("README-DONE");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("man/tsp11.1 EXAMPLES", () => {
  it("are the README's commands where they overlap", () => {
    const man = readFileSync(resolve(import.meta.dirname, "../../man/tsp11.1"), "utf8");
    const section = /^\.SH EXAMPLES\n\.nf\n([\s\S]*?)^\.fi/m.exec(man)?.[1] ?? "";
    const readme = readFileSync(README, "utf8");
    const commands = section.replaceAll("\\-", "-").split("\n").filter(Boolean);
    expect(commands.length).toBeGreaterThan(2);
    // The first README example's commands, the same words (options may differ in order).
    const words = (line: string) =>
      line.split(/\s+/).filter((w) => w !== "" && w !== "2>/dev/null");
    const readmeLines = readme
      .split("\n")
      .map((line) => words(line.replace(/\s+#.*$/, "")).join(" "));
    for (const command of commands) {
      if (command.startsWith("tsp11 list-objects")) continue; // the man page shows --json
      expect(readmeLines, command).toContain(words(command).join(" "));
    }
  });
});
