// Start-up: median wall time of five tsp11 commands on a small token against `node -e 0`,
// the pkcs11js floor (load the addon, C_Initialize, list the slots) and `pkcs11-tool -L`,
// all interleaved. Targets: list-slots <= 1.25x node, req / write-object / read-object /
// keygen ec <= 1.5x node.
//
//   node bench/startup.mjs [rounds=31]
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { compare, printTable, SOFTHSM, tempStore, TSP11 } from "./lib.mjs";

const rounds = Number(process.argv[2] ?? 31);
const { dir, env } = tempStore();
const tokenEnv = { ...env, TSP11_MODULE: SOFTHSM, TSP11_PIN: "1234" };
const tsp11 = (...args) => ({ command: TSP11, args, env: tokenEnv });

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
// A small token: one P-256 key (req and read-object use it), a file for write-object.
execFileSync(TSP11, ["keygen", "--key-type", "ec:prime256v1", "--label", "k", "--id", "01"], {
  env: tokenEnv,
  stdio: "ignore",
});
const data = join(dir, "data.bin");
writeFileSync(data, "some data\n");
const csr = join(dir, "k.csr");

const rows = compare(
  [
    { name: "node -e 0", command: process.execPath, args: ["-e", "0"], env },
    { name: "pkcs11js script (floor)", command: process.execPath, args: [minimal], env },
    { name: "tsp11 list-slots", ...tsp11("list-slots") },
    { name: "tsp11 req", ...tsp11("req", "-i", "k", "-d", "/CN=bench", "-o", csr) },
    {
      name: "tsp11 write-object (data)",
      ...tsp11("write-object", "--type", "data", "-f", data, "--label", "d", "--force"),
    },
    {
      name: "tsp11 read-object (pubkey)",
      ...tsp11("read-object", "--type", "pubkey", "--label", "k"),
    },
    {
      name: "tsp11 keygen ec",
      ...tsp11("keygen", "--key-type", "ec:prime256v1", "--label", "g", "--force"),
    },
    { name: "pkcs11-tool -L", command: "pkcs11-tool", args: ["--module", SOFTHSM, "-L"], env },
  ],
  rounds,
);
console.log(`startup (node ${process.version}), median of ${rounds} interleaved runs`);
printTable(rows, "node -e 0");
execFileSync("rm", ["-rf", dir]);
