/**
 * Provisioning scripts run tsp11 in parallel (xargs -P). SoftHSM 2.6's file store answers
 * oddly for a moment while another process rewrites the token (the token missing from the
 * slot list, C_Login saying CKR_USER_PIN_NOT_INITIALIZED or CKR_GENERAL_ERROR); tsp11 looks
 * again, a bounded number of times. A listing read while a keygen writes crashed SoftHSM or
 * read garbage (list-objects now reads under the token's lock). Processes started together
 * must all succeed.
 */
import { describe, expect, it } from "vitest";
import { PIN, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const available = softhsmAvailable();

describe.skipIf(!available)("parallel use", () => {
  it("four processes started together all succeed and every object stays intact", async () => {
    await using token = await tempToken({ label: "par" });
    const rounds = 6;
    await token.tsp11(["keygen", "--key-type", "ec:P-256", "--label", "base", "--pin", PIN]);
    for (let round = 0; round < rounds; round++) {
      const runs = await Promise.all([
        ...[0, 1, 2].map((i) =>
          token.tsp11([
            "keygen",
            "--key-type",
            "ec:P-256",
            "--label",
            `k-${round}-${i}`,
            "--pin",
            PIN,
          ]),
        ),
        token.tsp11(["list-objects", "--pin", PIN, "--json"]),
        token.tsp11(["req", "-k", "base", "-d", `/CN=r${round}`, "--pin", PIN]),
        token.tsp11(["read-object", "--type", "pubkey", "--label", "base"]),
      ]);
      for (const run of runs) expect(run.stderr, run.stderr).toBe("");
      expect(runs.map((run) => run.code)).toEqual([0, 0, 0, 0, 0, 0]);
    }
    const objects = JSON.parse(
      (await token.tsp11(["list-objects", "--pin", PIN, "--json"])).stdout,
    ) as {
      class: string;
      label: string;
      id: string;
    }[];
    expect(objects).toHaveLength(rounds * 3 * 2 + 2);
    const oracle = await token.pkcs11Tool(["-O", "--login", "--pin", PIN]);
    for (let round = 0; round < rounds; round++) {
      for (const i of [0, 1, 2]) {
        const pair = objects.filter((object) => object.label === `k-${round}-${i}`);
        expect(pair.map((object) => object.class).sort()).toEqual(["private-key", "public-key"]);
        expect(new Set(pair.map((object) => object.id)).size).toBe(1);
        expect(oracle.stdout).toContain(`label:      k-${round}-${i}\n`);
      }
    }
  });
});
