
import pkcs11js from "pkcs11js";
const [count] = process.argv.slice(2).map(Number);
const p = new pkcs11js.PKCS11(); p.load("/usr/lib/softhsm/libsofthsm2.so");
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
