/**
 * PIN prompts on a real terminal (script(1)): with stdin redirected the PIN is asked on
 * /dev/tty; init-token asks the SO PIN twice and offers the user PIN; --so-pin-file and
 * --slot-index as global options.
 */
import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { onTerminal, tsp11Line } from "../helpers/terminal.js";
import { PIN, SO_PIN, softhsmAvailable, storeSnapshot, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

describe.skipIf(!available)("PIN prompts", () => {
  it("asks on /dev/tty when stdin is redirected (sign < data.txt), never showing the PIN", async () => {
    await using token = await tempToken();
    const keygen = ["keygen", "--key-type", "ec:P-256", "--label", "k", "--pin", PIN];
    expect((await token.tsp11(keygen)).code).toBe(0);
    await writeFile(token.path("data.txt"), "signed through a prompt\n");
    const sign = tsp11Line(["sign", "-i", "k", "--output", "data.sig"]);
    const run = await onTerminal(token, `${sign} < data.txt`, [{ after: "User PIN:", send: PIN }]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain(PIN);
    const pub = await token.tsp11(
      ["read-object", "--type", "pubkey", "--label", "k", "-o", "k.pem"],
      {
        cwd: token.dir,
      },
    );
    expect(pub.code).toBe(0);
    const check = await token.exec(
      "openssl",
      ["dgst", "-sha256", "-verify", "k.pem", "-signature", "data.sig", "data.txt"],
      { cwd: token.dir },
    );
    expect(check.stdout).toContain("Verified OK");
  });

  it("exits 4 naming the options when there is no terminal at all", async () => {
    await using token = await tempToken();
    await writeFile(token.path("data.txt"), "x");
    const run = await token.exec(
      "setsid",
      ["-w", "sh", "-c", `${tsp11Line(["sign", "-i", "k"])} < data.txt`],
      {
        cwd: token.dir,
      },
    );
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(
      "tsp11: User PIN: a PIN is needed and none was given (use --pin, --pin-file or TSP11_PIN)\n",
    );
  });
});

describe.skipIf(!available)("init-token at a terminal", () => {
  it("asks the SO PIN twice and sets the user PIN offered", async () => {
    await using token = await tempToken({ init: false });
    const run = await onTerminal(token, tsp11Line(["init-token", "--label", "tty"]), [
      { after: "SO PIN:", send: SO_PIN },
      { after: "SO PIN again:", send: SO_PIN },
      { after: "User PIN (empty: none):", send: "5678" },
      { after: "User PIN again:", send: "5678" },
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain(SO_PIN);
    expect(run.stdout).not.toContain("5678");
    // The oracle logs in with both PINs.
    const user = await token.pkcs11Tool(["--token-label", "tty", "--login", "--pin", "5678", "-O"]);
    expect(user.code).toBe(0);
    // The SO PIN was set as typed: the SO can reset the user PIN with it.
    const reset = await token.tsp11([
      "change-pin",
      "--reset",
      "-t",
      "tty",
      "--so-pin",
      SO_PIN,
      "--new-pin",
      "8765",
    ]);
    expect(reset.code).toBe(0);
  });

  it("an empty user PIN answer skips it", async () => {
    await using token = await tempToken({ init: false });
    const run = await onTerminal(token, tsp11Line(["init-token", "--label", "nouser"]), [
      { after: "SO PIN:", send: SO_PIN },
      { after: "SO PIN again:", send: SO_PIN },
      { after: "User PIN (empty: none):", send: "" },
    ]);
    expect(run.code).toBe(0);
    const slots = JSON.parse((await token.tsp11(["list-slots", "--json"])).stdout) as {
      token: { label: string; userPinInitialized: boolean } | null;
    }[];
    const made = slots.find((slot) => slot.token?.label === "nouser");
    expect(made?.token?.userPinInitialized).toBe(false);
    // The next command's failure says how to set one.
    const list = await token.tsp11(["list-objects", "-t", "nouser", "--pin", PIN]);
    expect(list.code).toBe(4);
    expect(list.stderr).toContain("tsp11 change-pin --reset --so-pin");
  });

  it("two different SO PINs are exit 2 and nothing is initialized", async () => {
    await using token = await tempToken({ init: false });
    const before = await storeSnapshot(token);
    const run = await onTerminal(token, tsp11Line(["init-token", "--label", "typo"]), [
      { after: "SO PIN:", send: SO_PIN },
      { after: "SO PIN again:", send: "87654321" },
    ]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("tsp11: init-token: the two SO PINs differ; nothing changed");
    expect(await storeSnapshot(token)).toBe(before);
  });

  it("without a terminal a missing SO PIN names --so-pin, --so-pin-file and TSP11_SO_PIN", async () => {
    await using token = await tempToken({ init: false });
    const run = await token.tsp11(["init-token", "--label", "x"]);
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(
      "tsp11: SO PIN: a PIN is needed and none was given (use --so-pin, --so-pin-file or TSP11_SO_PIN)\n",
    );
  });
});

describe.skipIf(!available)("--so-pin-file and --slot-index", () => {
  it("reads the SO PIN from a file, before or after the command name", async () => {
    await using token = await tempToken({ init: false });
    await writeFile(token.path("so.txt"), `${SO_PIN}\n`);
    const init = await token.tsp11([
      "--so-pin-file",
      token.path("so.txt"),
      "init-token",
      "--label",
      "f",
      "--pin",
      PIN,
    ]);
    expect(init.code).toBe(0);
    const reset = await token.tsp11([
      "change-pin",
      "--reset",
      "--new-pin",
      "4321",
      "--so-pin-file",
      token.path("so.txt"),
    ]);
    expect(reset.code).toBe(0);
    expect((await token.pkcs11Tool(["--login", "--pin", "4321", "-O"])).code).toBe(0);
    // A wrong SO PIN from the file is an auth failure; both sources at once is usage.
    await writeFile(token.path("bad.txt"), "00000000\n");
    const bad = await token.tsp11([
      "change-pin",
      "--reset",
      "--new-pin",
      "1111",
      "--so-pin-file",
      token.path("bad.txt"),
    ]);
    expect(bad.code).toBe(4);
    const both = await token.tsp11([
      "change-pin",
      "--reset",
      "--new-pin",
      "1111",
      "--so-pin",
      SO_PIN,
      "--so-pin-file",
      token.path("so.txt"),
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give either --so-pin or --so-pin-file");
  });

  it("--slot-index counts the module's slots from 0, as pkcs11-tool", async () => {
    await using token = await tempToken();
    const slots = JSON.parse((await token.tsp11(["list-slots", "--all", "--json"])).stdout) as {
      slot: number;
      token: { label: string } | null;
    }[];
    const index = slots.findIndex((slot) => slot.token?.label === "test");
    const list = await token.tsp11(["list-objects", "--slot-index", String(index), "--json"]);
    expect(list.code).toBe(0);
    const oracle = await token.pkcs11Tool(["--slot-index", String(index), "-T"]);
    expect(oracle.stdout).toContain("test");
    const past = await token.tsp11(["list-objects", "--slot-index", String(slots.length)]);
    expect(past.code).toBe(3);
    expect(past.stderr).toContain(`the module has ${slots.length} slots`);
    const bad = await token.tsp11(["list-objects", "--slot-index", "-1"]);
    expect(bad.code).toBe(2);
    // init-token on the free slot by its index.
    const free = slots.findIndex((slot) => slot.token !== null && slot.token.label === "");
    const init = await token.tsp11([
      "init-token",
      "--slot-index",
      String(free),
      "--label",
      "second",
      "--so-pin",
      SO_PIN,
    ]);
    expect(init.code).toBe(0);
  });
});
