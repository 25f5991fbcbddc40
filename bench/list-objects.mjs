// Listing (issue 14): `tsp11 list-objects` on a token of P-256 public keys (labels obj-NNNNN,
// 4-byte ids), against `pkcs11-tool -O` and a bare pkcs11js enumeration that reads the same
// attributes, with peak RSS side by side. Target: tsp11's peak RSS <= the bare enumeration's
// + 10 MiB, and flat in the object count beyond SoftHSM's own share (compare the counts).
// Usage: node bench/list-objects.mjs [counts=2500,10000] [rounds=3]
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { compare, SOFTHSM, tempStore, TSP11 } from "./lib.mjs";

const counts = (process.argv[2] ?? "2500,10000").split(",").map(Number);
const rounds = Number(process.argv[3] ?? 3);

// Filling the token through pkcs11js directly is fastest.
const fill = `
import pkcs11js from "pkcs11js";
const [count] = process.argv.slice(2).map(Number);
const p = new pkcs11js.PKCS11(); p.load(${JSON.stringify(SOFTHSM)});
p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
const [slot] = p.C_GetSlotList(true);
const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
p.C_Login(s, pkcs11js.CKU_USER, "1234");
const point = Buffer.concat([Buffer.from([4, 65, 4]), Buffer.alloc(64, 7)]);
for (let i = 0; i < count; i++) {
  const id = Buffer.alloc(4); id.writeUInt32BE(i);
  p.C_CreateObject(s, [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: false },
    { type: pkcs11js.CKA_LABEL, value: "obj-" + String(i).padStart(5, "0") }, { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
    { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from("06082a8648ce3d030107", "hex") }, { type: pkcs11js.CKA_EC_POINT, value: point },
    { type: pkcs11js.CKA_VERIFY, value: true }]);
}
p.C_Logout(s); p.C_CloseSession(s); p.C_Finalize();
`;

// The bare enumeration: one search, then one read per object of the attributes list-objects
// reads for a public key, each object's text written as it is read.
const enumerate = `
import pkcs11js from "pkcs11js";
const p = new pkcs11js.PKCS11(); p.load(${JSON.stringify(SOFTHSM)});
p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
const [slot] = p.C_GetSlotList(true);
const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
p.C_FindObjectsInit(s, []);
const handles = []; for (;;) { const batch = p.C_FindObjects(s, 1024); handles.push(...batch); if (batch.length < 1024) break; }
p.C_FindObjectsFinal(s);
const types = [pkcs11js.CKA_CLASS, pkcs11js.CKA_LABEL, pkcs11js.CKA_ID, pkcs11js.CKA_PRIVATE, pkcs11js.CKA_VERIFY,
  pkcs11js.CKA_ENCRYPT, pkcs11js.CKA_DERIVE, pkcs11js.CKA_WRAP, pkcs11js.CKA_VERIFY_RECOVER, pkcs11js.CKA_KEY_TYPE,
  pkcs11js.CKA_EC_PARAMS];
let text = "";
for (const h of handles) {
  const values = p.C_GetAttributeValue(s, h, types.map((type) => ({ type })));
  text += JSON.stringify(values.map((a) => a.value.toString("hex"))) + "\\n";
  if (text.length > 65536) { process.stdout.write(text); text = ""; }
}
process.stdout.write(text);
p.C_CloseSession(s); p.C_Finalize();
`;

for (const count of counts) {
  const { dir, env } = tempStore();
  const fillScript = join(import.meta.dirname, `.fill-${process.pid}.mjs`);
  const enumScript = join(import.meta.dirname, `.enumerate-${process.pid}.mjs`);
  writeFileSync(fillScript, fill);
  writeFileSync(enumScript, enumerate);
  try {
    execFileSync(process.execPath, [fillScript, String(count)], { env, stdio: "inherit" });
    const tsp11 = (name, args, stdout) => ({
      name,
      command: process.execPath,
      args: [TSP11, "list-objects", ...args],
      env,
      stdout,
    });
    const rows = compare(
      [
        { name: "pkcs11js enumeration (pipe)", command: process.execPath, args: [enumScript], env },
        {
          name: "pkcs11-tool -O (pipe)",
          command: "pkcs11-tool",
          args: ["--module", SOFTHSM, "-O"],
          env,
        },
        tsp11("tsp11 list-objects --json >/dev/null", ["--json"], "null"),
        tsp11("tsp11 list-objects --json (pipe)", ["--json"]),
        tsp11("tsp11 list-objects (TSV pipe)", []),
      ],
      rounds,
    );
    const bare = rows[0];
    console.log(
      `\nlist-objects, ${count} P-256 public keys, median of ${rounds} runs, peak RSS over all`,
    );
    for (const row of rows) {
      const diff = row.peakRssMb - bare.peakRssMb;
      console.log(
        `${row.name.padEnd(38)} ${row.medianMs.toFixed(0).padStart(6)} ms  peak RSS ${row.peakRssMb.toFixed(1).padStart(6)} MiB  ${row === bare ? "" : `${diff >= 0 ? "+" : ""}${diff.toFixed(1)} MiB vs bare`}`,
      );
    }
  } finally {
    execFileSync("rm", ["-rf", dir, fillScript, enumScript]);
  }
}
