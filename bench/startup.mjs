// Start-up: median wall time of five tsp11 commands on a small token against `node -e 0`,
// each beside its floor — a bare pkcs11js script doing the same token work (load the addon,
// C_Initialize, log in, the searches and calls the operation needs, write the result) and
// nothing else — and `pkcs11-tool -L`, all interleaved. Targets: list-slots <= 1.25x node,
// req / write-object / read-object / keygen ec <= 1.5x node. A target under its floor's
// ratio is below what Node.js + pkcs11js + SoftHSM allow.
//
//   node bench/startup.mjs [rounds=31]
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compare, printTable, SOFTHSM, tempStore, TSP11 } from "./lib.mjs";

const rounds = Number(process.argv[2] ?? 31);
const { dir, env } = tempStore();
const tokenEnv = { ...env, TSP11_MODULE: SOFTHSM, TSP11_PIN: "1234" };
const tsp11 = (...args) => ({ command: TSP11, args, env: tokenEnv });

/**
 * The floor scripts (CommonJS, the cheaper start) share this opening: the addon, the module,
 * the slot. The addon is loaded itself, as tsp11 does (src/pkcs11/lib.ts): pkcs11js's
 * index.js, loaded by Node, costs 7 to 8 ms more, most of it copying the addon's 656
 * constants into a new object.
 */
const ADDON = fileURLToPath(new URL("build/Release/pkcs11.node", import.meta.resolve("pkcs11js")));
const prelude = `const pkcs11js = require(${JSON.stringify(ADDON)});
const ck = pkcs11js;
const p = new pkcs11js.PKCS11(); p.load(${JSON.stringify(SOFTHSM)});
p.C_Initialize({ flags: ck.CKF_OS_LOCKING_OK });
const [slot] = p.C_GetSlotList(true);
p.C_GetTokenInfo(slot);
`;
const login = `const s = p.C_OpenSession(slot, ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION);
p.C_Login(s, ck.CKU_USER, "1234");
const find = (template) => { p.C_FindObjectsInit(s, template); const found = p.C_FindObjects(s, 16); p.C_FindObjectsFinal(s); return found; };
`;
const close = "p.C_Logout(s); p.C_CloseSession(s); p.C_Finalize();\n";

/** Each floor's own work, between the login and the close. */
const floors = {
  "list-slots": `for (const slot of p.C_GetSlotList(true)) process.stdout.write(p.C_GetTokenInfo(slot).label + "\\n");
p.C_Finalize();
`,
  // The key by label, its public point, a signature over a SHA-256 digest, a file written.
  req: `${login}const { createHash } = require("node:crypto");
const { writeFileSync } = require("node:fs");
const [key] = find([{ type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY }, { type: ck.CKA_LABEL, value: "k" }]);
const [pub] = find([{ type: ck.CKA_CLASS, value: ck.CKO_PUBLIC_KEY }, { type: ck.CKA_LABEL, value: "k" }]);
const [point] = p.C_GetAttributeValue(s, pub, [{ type: ck.CKA_EC_POINT }, { type: ck.CKA_EC_PARAMS }]);
p.C_SignInit(s, { mechanism: ck.CKM_ECDSA }, key);
const signature = Buffer.alloc(72);
const length = p.C_Sign(s, createHash("sha256").update(point.value).digest(), signature);
writeFileSync(process.argv[2], signature.subarray(0, length));
${close}`,
  // The label checked free (replaced, as --force does), the data object made.
  "write-object": `${login}const { readFileSync } = require("node:fs");
const value = readFileSync(process.argv[2]);
const data = [{ type: ck.CKA_CLASS, value: ck.CKO_DATA }, { type: ck.CKA_LABEL, value: "d" }];
for (const old of find(data)) p.C_DestroyObject(s, old);
p.C_CreateObject(s, [...data, { type: ck.CKA_TOKEN, value: true }, { type: ck.CKA_VALUE, value }]);
${close}`,
  // The public key by label, its point and curve printed.
  "read-object": `${login}const [pub] = find([{ type: ck.CKA_CLASS, value: ck.CKO_PUBLIC_KEY }, { type: ck.CKA_LABEL, value: "k" }]);
const [point, params] = p.C_GetAttributeValue(s, pub, [{ type: ck.CKA_EC_POINT }, { type: ck.CKA_EC_PARAMS }]);
process.stdout.write(point.value.toString("base64") + params.value.toString("hex") + "\\n");
${close}`,
  // The label checked free (replaced), a P-256 pair made, its public point read.
  "keygen ec": `${login}for (const old of find([{ type: ck.CKA_LABEL, value: "g" }])) p.C_DestroyObject(s, old);
const label = { type: ck.CKA_LABEL, value: "g" };
const pair = p.C_GenerateKeyPair(s, { mechanism: ck.CKM_EC_KEY_PAIR_GEN },
  [label, { type: ck.CKA_TOKEN, value: true }, { type: ck.CKA_VERIFY, value: true },
   { type: ck.CKA_EC_PARAMS, value: Buffer.from("06082a8648ce3d030107", "hex") }],
  [label, { type: ck.CKA_TOKEN, value: true }, { type: ck.CKA_PRIVATE, value: true },
   { type: ck.CKA_SENSITIVE, value: true }, { type: ck.CKA_SIGN, value: true }]);
const [point] = p.C_GetAttributeValue(s, pair.publicKey, [{ type: ck.CKA_EC_POINT }]);
process.stdout.write(point.value.toString("hex") + "\\n");
${close}`,
};
const floorOf = (name, ...args) => {
  const script = join(dir, `floor-${name.replace(/\W+/g, "-")}.cjs`);
  writeFileSync(script, prelude + floors[name]);
  return {
    name: `  floor: ${name} (pkcs11js)`,
    command: process.execPath,
    args: [script, ...args],
    env,
  };
};

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
    { name: "tsp11 list-slots", ...tsp11("list-slots") },
    floorOf("list-slots"),
    { name: "tsp11 req", ...tsp11("req", "-i", "k", "-d", "/CN=bench", "-o", csr) },
    floorOf("req", join(dir, "floor.sig")),
    {
      name: "tsp11 write-object (data)",
      ...tsp11("write-object", "--type", "data", "-f", data, "--label", "d", "--force"),
    },
    floorOf("write-object", data),
    {
      name: "tsp11 read-object (pubkey)",
      ...tsp11("read-object", "--type", "pubkey", "--label", "k"),
    },
    floorOf("read-object"),
    {
      name: "tsp11 keygen ec",
      ...tsp11("keygen", "--key-type", "ec:prime256v1", "--label", "g", "--force"),
    },
    floorOf("keygen ec"),
    { name: "pkcs11-tool -L", command: "pkcs11-tool", args: ["--module", SOFTHSM, "-L"], env },
  ],
  rounds,
);
console.log(`startup (node ${process.version}), median of ${rounds} interleaved runs`);
printTable(rows, "node -e 0");
execFileSync("rm", ["-rf", dir]);
