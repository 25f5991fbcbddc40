
import pkcs11js from "pkcs11js";
const p = new pkcs11js.PKCS11(); p.load("/usr/lib/softhsm/libsofthsm2.so");
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
