import { describe, expect, it } from "vitest";
import { PIN, SO_PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

interface SlotJson {
  slot: number;
  token: { label: string; serial: string; initialized: boolean; uri: string } | null;
}

describe.skipIf(!available)("init-token", () => {
  it("initializes the free slot, sets the user PIN, and reports the slot as it is afterwards", async () => {
    await using token = await tempToken({ init: false });
    const result = await token.tsp11([
      "init-token",
      "--label",
      "demo",
      "--so-pin",
      SO_PIN,
      "--pin",
      PIN,
      "--json",
    ]);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as {
      slot: number;
      label: string;
      serial: string;
      uri: string;
    };
    expect(Object.keys(json)).toEqual(["slot", "label", "serial", "uri"]);
    expect(json.label).toBe("demo");
    expect(json.serial).toMatch(/^[0-9a-f]{16}$/);
    expect(json.uri).toBe(
      `pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=${json.serial};token=demo`,
    );
    // SoftHSM renumbers: the token's slot id comes from its serial; pkcs11-tool must agree.
    const oracle = await token.pkcs11Tool(["-L"]);
    expect(oracle.stdout).toContain(`(0x${json.slot.toString(16)})`);
    expect(oracle.stdout).toMatch(/token label\s+: demo\n/);
    // The user PIN works, and the label has blank padding (p11tool's URI would show %00 otherwise).
    expect(
      (await token.pkcs11Tool(["--token-label", "demo", "--login", "--pin", PIN, "-O"])).code,
    ).toBe(0);
    const p11tool = await token.exec("p11tool", [
      "--provider",
      "/usr/lib/softhsm/libsofthsm2.so",
      "--list-token-urls",
    ]);
    expect(p11tool.stdout).toMatch(/token=demo\n/);
    expect(p11tool.stdout).not.toContain("%00");
  });

  it("pads multi-byte labels by UTF-8 length and refuses labels over 32 bytes", async () => {
    await using token = await tempToken({ init: false });
    const ok = await token.tsp11([
      "init-token",
      "--label",
      "zoë-token",
      "--so-pin",
      SO_PIN,
      "--json",
    ]);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as { label: string }).label).toBe("zoë-token");
    const long = await token.tsp11(["init-token", "--label", "x".repeat(33), "--so-pin", SO_PIN]);
    expect(long.code).toBe(2);
    expect(long.stderr).toBe(
      "tsp11: init-token: the label is 33 bytes long; a token label holds at most 32\n",
    );
  });

  it("refuses to re-initialize without a name and --force (exit 6), and with them destroys the objects", async () => {
    await using token = await tempToken({ label: "live" });
    await token.tsp11(["keygen", "--key-type", "ec:P-256", "--label", "k1", "--pin", PIN]);
    const slots = () =>
      token.tsp11(["list-slots", "--json"]).then((r) => JSON.parse(r.stdout) as SlotJson[]);
    // (SoftHSM always offers a free slot, so "no selector and no free token" is not reachable here.)
    const before = await slots();
    const noForce = await token.tsp11([
      "init-token",
      "--token-label",
      "live",
      "--label",
      "again",
      "--so-pin",
      SO_PIN,
    ]);
    expect(noForce.code).toBe(6);
    expect(noForce.stderr).toMatch(/token "live" is already initialized; add --force/);
    expect(await slots()).toEqual(before);
    const wrongSo = await token.tsp11([
      "init-token",
      "--token-label",
      "live",
      "--label",
      "again",
      "--so-pin",
      "00000000",
      "--force",
    ]);
    expect(wrongSo.code).toBe(4);
    expect(wrongSo.stdout + wrongSo.stderr).not.toContain("00000000");
    const forced = await token.tsp11([
      "init-token",
      "--token-label",
      "live",
      "--label",
      "again",
      "--so-pin",
      SO_PIN,
      "--pin",
      PIN,
      "--force",
      "--json",
    ]);
    expect(forced.code).toBe(0);
    const labels = (await slots()).map((slot) => slot.token?.label).sort();
    expect(labels).toEqual(["", "again"]);
    const objects = await token.tsp11([
      "list-objects",
      "--token-label",
      "again",
      "--pin",
      PIN,
      "--json",
    ]);
    expect(JSON.parse(objects.stdout)).toEqual([]);
  });

  it("needs an SO PIN: none and no terminal is exit 4", async () => {
    await using token = await tempToken({ init: false });
    const result = await token.tsp11(["init-token", "--label", "demo"]);
    expect(result.code).toBe(4);
    const labels = (
      JSON.parse((await token.tsp11(["list-slots", "--json"])).stdout) as SlotJson[]
    ).map((s) => s.token?.initialized);
    expect(labels).toEqual([false]);
  });
});

describe.skipIf(!available)("list-slots", () => {
  it("lists slots as the contract's JSON, and tab-separated rows when piped", async () => {
    await using token = await tempToken({ label: "demo" });
    const json = JSON.parse((await token.tsp11(["list-slots", "--json"])).stdout) as Record<
      string,
      unknown
    >[];
    expect(json).toHaveLength(2);
    const [first] = json;
    expect(Object.keys(first ?? {})).toEqual([
      "slot",
      "description",
      "manufacturer",
      "tokenPresent",
      "token",
    ]);
    const initialized = json.find(
      (slot) => (slot.token as { label: string } | null)?.label === "demo",
    );
    expect(initialized?.token).toMatchObject({
      label: "demo",
      manufacturer: "SoftHSM project",
      model: "SoftHSM v2",
      initialized: true,
      userPinInitialized: true,
      loginRequired: true,
    });
    expect((initialized?.token as { flags: string[] }).flags).toContain("CKF_TOKEN_INITIALIZED");
    const human = await token.tsp11(["list-slots"]);
    const row = human.stdout.split("\n").find((line) => line.includes("\tdemo\t"));
    // The six documented columns, then the PIN lengths the token takes.
    expect(row?.split("\t")).toHaveLength(7);
    expect(row?.split("\t")[6]).toBe("4-255");
    expect(human.stdout).not.toContain("\u001b[");
  });
});
