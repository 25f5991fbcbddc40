// Listing: `tsp11 list-objects` on a token holding 10,000 public objects, against
// `pkcs11-tool -O` and a plain pkcs11js enumeration (find + one attribute read per object),
// with peak RSS. Targets: tsp11 <= 0.5x pkcs11-tool, <= 145 MB, linear in the object count.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { compare, printTable, SOFTHSM, tempStore, TSP11 } from "./lib.mjs";

const counts = (process.argv[2] ?? "2500,10000").split(",").map(Number);
const rounds = Number(process.argv[3] ?? 5);

// Filling the token through pkcs11js directly is fastest: public EC keys and data objects.
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
  const common = [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: false },
    { type: pkcs11js.CKA_LABEL, value: "obj-" + i }];
  p.C_CreateObject(s, i % 2 ? [...common, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA },
      { type: pkcs11js.CKA_VALUE, value: Buffer.from("data " + i) }]
    : [...common, { type: pkcs11js.CKA_ID, value: id }, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
      { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from("06082a8648ce3d030107", "hex") }, { type: pkcs11js.CKA_EC_POINT, value: point },
      { type: pkcs11js.CKA_VERIFY, value: true }]);
}
p.C_Logout(s); p.C_CloseSession(s); p.C_Finalize();
`;

// The reference enumeration: every object, one templated read each, as plain JSON.
const enumerate = `
import pkcs11js from "pkcs11js";
const p = new pkcs11js.PKCS11(); p.load(${JSON.stringify(SOFTHSM)});
p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
const [slot] = p.C_GetSlotList(true);
const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
p.C_FindObjectsInit(s, []);
const handles = []; for (;;) { const batch = p.C_FindObjects(s, 1024); handles.push(...batch); if (batch.length < 1024) break; }
p.C_FindObjectsFinal(s);
const out = handles.map((h) => {
  const [cls, label] = p.C_GetAttributeValue(s, h, [{ type: pkcs11js.CKA_CLASS }, { type: pkcs11js.CKA_LABEL }]);
  return { class: cls.value.readUInt32LE(0), label: label.value.toString() };
});
process.stdout.write(JSON.stringify(out));
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
    const rows = compare(
      [
        { name: "pkcs11-tool -O", command: "pkcs11-tool", args: ["--module", SOFTHSM, "-O"], env },
        { name: "pkcs11js enumeration", command: process.execPath, args: [enumScript], env },
        {
          name: "tsp11 list-objects --json",
          command: process.execPath,
          args: [TSP11, "list-objects", "--json"],
          env,
        },
        {
          name: "tsp11 list-objects (table)",
          command: process.execPath,
          args: [TSP11, "list-objects"],
          env,
        },
      ],
      rounds,
    );
    console.log(
      `\nlist-objects, ${count} public objects (${dir}), median of ${rounds} interleaved runs`,
    );
    printTable(rows, "pkcs11-tool -O");
  } finally {
    execFileSync("rm", ["-rf", dir, fillScript, enumScript]);
  }
}
