// Startup: median wall time of `tsp11 list-slots` against `node -e 0` and
// `pkcs11-tool -L` on the same SoftHSM token store. Target: tsp11 <= 1.5x node.
import { compare, printTable, SOFTHSM, tempStore, TSP11 } from "./lib.mjs";

const rounds = Number(process.argv[2] ?? 31);
const { env } = tempStore();
const rows = compare(
  [
    { name: "node -e 0", command: process.execPath, args: ["-e", "0"], env },
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
