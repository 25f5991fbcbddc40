/**
 * Every command's `--help` examples run as written, in order, on a fresh SoftHSM store with one
 * token "demo" (user PIN 1234, also in TSP11_PIN as a user's shell would have it): each
 * command first gets the files and objects its examples name (SET_UP), made by tsp11 and
 * openssl. Checked differently, as said at each: examples that need a terminal (TERMINAL: run
 * without one they must refuse, exit 2, naming the option that avoids the question), `serve`
 * (each serve example started in the background on a free port instead of 8443, or a socket
 * in the temp dir instead of /run, asked /healthz, the curl lines after it run with --fail,
 * then stopped with SIGTERM: exit 0), `completion zsh` (a zsh script: `zsh -n` when zsh is there,
 * else only that it prints) and `info --module` of a module that is not installed (skipped).
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { delimiter, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../helpers/ports.js";
import type { RunResult, TempToken } from "../helpers/softhsm.js";
import { BIN, PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();
const COMMANDS = resolve(import.meta.dirname, "../../src/commands");

const FILES = {
  notes: "echo 'meeting notes' > notes.txt",
  data: "echo 'some data' > data.txt",
  tars: "tar czf a.tar.gz data.txt && tar czf b.tar.gz data.txt",
  peer: [
    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.pem",
    "openssl pkey -in peer.pem -pubout -out peer.pub.pem",
  ],
  key1: "tsp11 keygen --key-type rsa:2048 --label key-1 --id 0001",
};

/** What each command's examples need before they run, in order. */
const SET_UP: Record<string, string[]> = {
  batch: [],
  cert: [
    "tsp11 keygen --key-type ec:prime256v1 --label ca-key",
    FILES.key1,
    "tsp11 req -k key-1 -d /CN=device -o device.csr",
  ],
  "change-pin": [],
  completion: ["mkdir -p ~/.config/fish/completions"],
  decrypt: [
    "tsp11 keygen --key-type aes:256 --label aes-key --usage encrypt,decrypt",
    "tsp11 keygen --key-type rsa:2048 --label rsa-key --usage encrypt,decrypt",
    "head -c 5000 /dev/urandom > backup.tar && cp backup.tar f && echo secret > secret.txt",
    "tsp11 encrypt -k aes-key --input backup.tar --output backup.tar.enc",
    "tsp11 encrypt -k aes-key -m AES-CBC-PAD --iv-out iv.bin --input f --output f.enc",
    "tsp11 encrypt -k rsa-key --hash sha1 --input secret.txt --encoding base64 > secret.b64",
  ],
  "delete-object": [
    FILES.key1,
    "tsp11 cert -k key-1 -d /CN=old --import",
    "tsp11 edit-object --type cert --id 0001 --set-label old --yes",
  ],
  derive: [...FILES.peer, "tsp11 keygen --key-type ec:prime256v1 --label ecdh --usage derive"],
  digest: ["head -c 5000 /dev/urandom > image.bin && tar czf data.tar image.bin"],
  "edit-object": [
    FILES.key1,
    "tsp11 keygen --key-type ec:prime256v1 --label web",
    "tsp11 cert -k key-1 -d /CN=key-1 --import",
  ],
  encrypt: [
    "tsp11 keygen --key-type aes:256 --label aes-key --usage encrypt,decrypt",
    "tsp11 keygen --key-type rsa:2048 --label rsa-key --usage encrypt,decrypt",
    "head -c 5000 /dev/urandom > backup.tar && cp backup.tar f && echo secret > secret.txt",
  ],
  info: [],
  "init-token": [],
  keygen: [],
  "list-mechanisms": [],
  "list-objects": [FILES.key1, "tsp11 cert -k key-1 -d /CN=key-1 --import"],
  "list-slots": [],
  random: [],
  "read-object": [
    FILES.key1,
    "tsp11 cert -k key-1 -d /CN=key-1 --import",
    "tsp11 keygen --key-type ec:prime256v1 --label test-key --no-sensitive --extractable",
  ],
  req: [FILES.key1],
  serve: [
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -keyout k.pem -out c.pem 2>/dev/null",
    "openssl rand -hex 16 > token",
  ],
  sign: [
    FILES.key1,
    "tsp11 keygen --key-type ec:prime256v1 --label ec-key",
    FILES.data,
    FILES.tars,
  ],
  unwrap: [
    "tsp11 keygen --key-type aes:256 --label transport --usage wrap,unwrap",
    "tsp11 keygen --key-type ec:prime256v1 --label signer --extractable",
    "tsp11 read-object --type pubkey --label signer -o signer.pub.pem",
    "tsp11 wrap --wrapping-key transport -k signer --output signer.wrapped",
    "tsp11 delete-object --label signer --yes",
    "tsp11 keygen --key-type rsa:2048 --label rsa-transport --usage wrap,unwrap",
    "tsp11 keygen --key-type aes:256 --label aes-key --extractable",
    "tsp11 wrap --wrapping-key rsa-transport --hash sha1 -k aes-key --output aes.wrapped",
  ],
  verify: [
    FILES.key1,
    FILES.data,
    FILES.tars,
    "tsp11 sign -k key-1 --input data.txt -o data.sig",
    "tsp11 sign --id 0001 -m SHA384-RSA-PKCS-PSS *.tar.gz",
  ],
  version: [],
  wrap: [
    "tsp11 keygen --key-type aes:256 --label transport --usage wrap,unwrap",
    "tsp11 keygen --key-type ec:prime256v1 --label signer --extractable",
    "tsp11 keygen --key-type rsa:2048 --label rsa-transport --usage wrap,unwrap",
    "tsp11 keygen --key-type aes:256 --label aes-key --extractable",
  ],
  "write-object": [
    FILES.key1,
    "tsp11 cert -k key-1 -d /CN=key-1 -o key-1.pem",
    FILES.notes,
    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem",
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj /CN=ca -outform DER -out ca.der 2>/dev/null",
    "echo secret > pass.txt",
    "openssl req -x509 -newkey rsa:2048 -nodes -keyout b.key -subj /CN=bundle -out b.crt 2>/dev/null",
    "openssl pkcs12 -export -inkey b.key -in b.crt -passout file:pass.txt -out bundle.p12",
  ],
};

/** Examples that ask on a terminal: without one they refuse (exit 2) naming this option. */
const TERMINAL: Record<string, string> = {
  "tsp11 delete-object --id 0001 --pin 1234": "--yes",
};

/** The `$ ` lines of a command's help, with their continuation lines joined. */
async function examples(token: TempToken, command: string): Promise<string[]> {
  const help = await token.tsp11([command, "--help"]);
  expect(help.code).toBe(0);
  const lines: string[] = [];
  let continued = false;
  for (const line of help.stdout.split("\n")) {
    if (continued) lines.push(`${lines.pop() ?? ""}\n${line}`);
    else if (line.startsWith("  $ ")) lines.push(line.slice(4));
    else continue;
    continued = line.endsWith("\\");
  }
  return lines;
}

/** A shell in the token's directory, with tsp11 on the PATH and HOME in the temp dir. */
async function shell(token: TempToken) {
  const bin = token.path("bin");
  await mkdir(bin);
  await mkdir(token.path("work"));
  await writeFile(join(bin, "tsp11"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  await chmod(join(bin, "tsp11"), 0o755);
  const env = {
    PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`,
    TSP11_PIN: PIN,
    HOME: token.path("work"),
  };
  return (line: string): Promise<RunResult> =>
    token.exec("bash", ["-c", `set -eo pipefail; cd "${token.path("work")}"\n${line}`], {
      env,
    });
}

type Shell = Awaited<ReturnType<typeof shell>>;

async function expectSuccess(sh: Shell, line: string): Promise<RunResult> {
  const result = await sh(line);
  expect(result.code, `${line}\n${result.stderr}`).toBe(0);
  return result;
}

/** serve: each `tsp11 serve` example starts in the background; the lines after it run against it. */
async function runServeExamples(token: TempToken, sh: Shell, lines: string[]): Promise<void> {
  const socket = token.path("api.sock");
  // Each serve example with the lines up to the next one.
  const groups: string[][] = [];
  for (const line of lines) {
    if (line.startsWith("tsp11 serve")) groups.push([line]);
    else groups.at(-1)?.push(line);
  }
  expect(groups).toHaveLength(3);
  for (const [serve, ...after] of groups as [string, ...string[]][]) {
    const port = String(await freePort());
    const local = (line: string) =>
      line
        .replaceAll("8443", port)
        .replaceAll("/run/tsp11.sock", socket)
        .replaceAll("curl -s ", "curl -sf ");
    const tls = serve.includes("--tls-cert");
    const health = serve.includes("--socket")
      ? `curl -sf --unix-socket ${socket} http://x/healthz`
      : `curl -sf ${tls ? "-k https" : "http"}://127.0.0.1:${port}/healthz`;
    await expectSuccess(
      sh,
      [
        "trap 'kill $(jobs -p) 2> /dev/null || true' EXIT", // no server left behind a failure
        `${local(serve)} 2> serve.log & SERVER=$!`,
        `for n in $(seq 300); do ${health} > /dev/null && break; sleep 0.1; done`,
        `${health} > /dev/null`,
        ...after.map((line) => `${local(line)} > /dev/null`),
        "kill $SERVER; wait $SERVER",
      ].join("\n"),
    );
  }
}

/** An example's `--module` this machine does not have. */
function missingModule(line: string): boolean {
  const module = /--module (\S+)/.exec(line)?.[1];
  return module !== undefined && !existsSync(module);
}

async function runExample(sh: Shell, command: string, line: string): Promise<void> {
  const option = TERMINAL[line];
  if (option) {
    const result = await sh(`${line} < /dev/null`);
    expect(result.code, line).toBe(2);
    expect(result.stderr).toContain(option);
  } else if (command === "completion" && line.includes("completion zsh")) {
    const zsh = ["/usr/bin/zsh", "/bin/zsh"].find((path) => existsSync(path));
    await expectSuccess(sh, zsh ? `tsp11 completion zsh | ${zsh} -n` : "tsp11 completion zsh");
  } else if (missingModule(line)) {
    return;
  } else {
    await expectSuccess(sh, line);
  }
}

describe.skipIf(!available)("--help examples", () => {
  for (const command of Object.keys(SET_UP)) {
    it(`${command}: run as written on a fresh store`, async () => {
      await using token = await tempToken({ label: "demo", init: command !== "init-token" });
      const sh = await shell(token);
      for (const line of SET_UP[command] ?? []) await expectSuccess(sh, line);
      const lines = await examples(token, command);
      expect(lines.length, command).toBeGreaterThan(0);
      if (command === "serve") await runServeExamples(token, sh, lines);
      else for (const line of lines) await runExample(sh, command, line);
    });
  }

  it("every command whose help has examples has a set-up here", async () => {
    const sources = await readdir(COMMANDS);
    const withExamples = [];
    for (const file of sources.filter((f) => f.endsWith(".ts"))) {
      const text = await readFile(join(COMMANDS, file), "utf8");
      if (text.includes("Examples:")) withExamples.push(file.replace(/\.ts$/, ""));
    }
    expect(withExamples.length).toBeGreaterThan(20);
    expect(Object.keys(SET_UP).sort()).toEqual(withExamples.sort());
  });

  it("edit-object's examples renamed web and moved key-1's pair and certificate", async () => {
    await using token = await tempToken({ label: "demo" });
    const sh = await shell(token);
    for (const line of SET_UP["edit-object"] ?? []) await expectSuccess(sh, line);
    for (const line of await examples(token, "edit-object")) await expectSuccess(sh, line);
    const listed = await token.tsp11(["list-objects", "--json", "--pin", PIN]);
    const labels = (JSON.parse(listed.stdout) as { label: string; id: string }[]).map(
      (o) => `${o.label}:${o.id}`,
    );
    expect(labels).toContain("key-1:0a0b");
    expect(labels.filter((l) => l.startsWith("www:"))).toHaveLength(2);
  });
});
