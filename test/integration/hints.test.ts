/**
 * Hints that name the right thing: PIN length limits, wrong-class keys, tokens that exist,
 * the login that hides private objects, and a declined prompt (exit 0, nothing changed).
 */
import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { onTerminal, tsp11Line } from "../helpers/terminal.js";
import { initToken, PIN, softhsmAvailable, storeSnapshot, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

describe.skipIf(!available)("PIN length hints", () => {
  it("list-slots shows the token's PIN lengths; CKR_PIN_LEN_RANGE says them", async () => {
    await using token = await tempToken();
    const slots = JSON.parse((await token.tsp11(["list-slots", "--json"])).stdout) as {
      token: { minPinLength: number; maxPinLength: number } | null;
    }[];
    // SoftHSM 2: 4 to 255 (as pkcs11-tool -L prints them).
    const oracle = await token.pkcs11Tool(["-L"]);
    const min = /pin min\/max\s*: (\d+)\/(\d+)/.exec(oracle.stdout);
    expect(slots[0]?.token?.minPinLength).toBe(Number(min?.[1]));
    expect(slots[0]?.token?.maxPinLength).toBe(Number(min?.[2]));
    const change = await token.tsp11(["change-pin", "--pin", PIN, "--new-pin", "12"]);
    expect(change.code).toBe(2);
    expect(change.stderr).toMatch(/it takes PINs of 4 to 255 characters \(CKR_PIN_LEN_RANGE\)\n$/);
    const before = await storeSnapshot(token);
    const init = await token.tsp11(["init-token", "--label", "short", "--so-pin", "123"]);
    expect(init.code).toBe(2);
    expect(init.stderr).toContain(
      "the SO PIN is too short or too long for this token: it takes PINs of 4 to 255 characters",
    );
    expect(await storeSnapshot(token)).toBe(before);
  });
});

describe.skipIf(!available)("errors name what exists", () => {
  it("-t nope lists the tokens there are", async () => {
    await using token = await tempToken();
    await initToken(token, "other");
    const run = await token.tsp11(["list-objects", "-t", "nope"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /no token matches; the tokens are "(test|other)" \(slot 0x[0-9a-f]+, serial [0-9a-f]+\), "(test|other)"/,
    );
  });

  it("a key of the wrong class is named with its class", async () => {
    await using token = await tempToken();
    const keygen = ["keygen", "--key-type", "aes:256", "--label", "aes-key", "--pin", PIN];
    expect((await token.tsp11(keygen)).code).toBe(0);
    await writeFile(token.path("d.txt"), "x");
    const sign = await token.tsp11([
      "sign",
      "-i",
      "aes-key",
      "--pin",
      PIN,
      "--input",
      token.path("d.txt"),
    ]);
    expect(sign.code).toBe(2);
    expect(sign.stderr).toContain("that key is a secret key (aes)");
    const req = await token.tsp11(["req", "-i", "aes-key", "-d", "/CN=x", "--pin", PIN]);
    expect(req.code).toBe(3);
    expect(req.stderr).toBe(
      'tsp11: find key: no private key with label "aes-key" on the token: that key is a secret key (aes)\n',
    );
    // Nothing of that name at all: the plain not-found.
    const none = await token.tsp11(["req", "-i", "nope", "-d", "/CN=x", "--pin", PIN]);
    expect(none.stderr).toBe('tsp11: find key: no private key with label "nope" on the token\n');
  });

  it("list-objects without a login says how to see private objects (exit 0)", async () => {
    await using token = await tempToken();
    const keygen = ["keygen", "--key-type", "ec:P-256", "--label", "k", "--pin", PIN];
    expect((await token.tsp11(keygen)).code).toBe(0);
    const run = await token.tsp11(["list-objects", "--type", "privkey"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("log in to see private objects (give --pin)");
    const logged = await token.tsp11(["list-objects", "--type", "privkey", "--pin", PIN]);
    expect(logged.stderr).toBe("");
    // Public objects listed without a login: nothing to hint.
    const pub = await token.tsp11(["list-objects", "--type", "pubkey"]);
    expect(pub.stderr).toBe("");
  });
});

describe.skipIf(!available)("declining a prompt", () => {
  it("delete-object and edit-object: no is exit 0, nothing deleted or changed", async () => {
    await using token = await tempToken();
    const keygen = ["keygen", "--key-type", "ec:P-256", "--label", "keep", "--pin", PIN];
    expect((await token.tsp11(keygen)).code).toBe(0);
    const listing = ["list-objects", "--pin", PIN, "--json"];
    const before = (await token.tsp11(listing)).stdout;
    const del = await onTerminal(
      token,
      tsp11Line(["delete-object", "--label", "keep", "--pin", PIN]),
      [{ after: "[y/N]", send: "n" }],
    );
    expect(del.code).toBe(0);
    expect(del.stdout).toContain("not confirmed: nothing deleted");
    const edit = await onTerminal(
      token,
      tsp11Line(["edit-object", "--label", "keep", "--set-label", "gone", "--pin", PIN]),
      [{ after: "[y/N]", send: "no" }],
    );
    expect(edit.code).toBe(0);
    expect(edit.stdout).toContain("not confirmed: nothing changed");
    expect((await token.tsp11(listing)).stdout).toBe(before);
    // A yes still deletes.
    const yes = await onTerminal(
      token,
      tsp11Line(["delete-object", "--label", "keep", "--pin", PIN]),
      [{ after: "[y/N]", send: "y" }],
    );
    expect(yes.code).toBe(0);
    expect(yes.stdout).toContain("deleted 2 objects");
  });
});
