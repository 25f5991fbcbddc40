// Startup: median wall time of `tsp11 list-slots` against `node -e 0` and
// `pkcs11-tool -L` on the same SoftHSM token store. Target: tsp11 <= 1.5x node.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { compare, printTable, SOFTHSM, tempStore, TSP11 } from "./lib.mjs";

const rounds = Number(process.argv[2] ?? 31);
const { dir, env } = tempStore();
// The floor for any Node tool: load pkcs11js, initialize SoftHSM, list the slots, nothing else.
const minimal = join(dir, "minimal.mjs");
writeFileSync(
  minimal,
  `import pkcs11js from ${JSON.stringify(import.meta.resolve("pkcs11js"))};
const p = new pkcs11js.PKCS11(); p.load(${JSON.stringify(SOFTHSM)});
p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
for (const slot of p.C_GetSlotList(true)) process.stdout.write(p.C_GetTokenInfo(slot).label + "\\n");
p.C_Finalize();
`,
);
const rows = compare(
  [
    { name: "node -e 0", command: process.execPath, args: ["-e", "0"], env },
    { name: "pkcs11js script (floor)", command: process.execPath, args: [minimal], env },
    { name: "tsp11 list-slots", command: process.execPath, args: [TSP11, "list-slots"], env },
    {
      name: "tsp11 list-slots --json",
      command: process.execPath,
      args: [TSP11, "list-slots", "--json"],
      env,
    },
    { name: "pkcs11-tool -L", command: "pkcs11-tool", args: ["--module", SOFTHSM, "-L"], env },
  ],
  rounds,
);
console.log(`startup, median of ${rounds} interleaved runs`);
printTable(rows, "node -e 0");
