/**
 * src/pkcs11/lib.ts's module class against SoftHSM2 in this process (each integration file
 * runs in a process of its own): the calls whose conventions it gives the addon's class
 * (output buffers cut to the length used, the …Async forms on the thread pool) and the
 * addon's errors as ckr.ts reads them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ckrOf } from "../../src/pkcs11/ckr.js";
import { ck, newPkcs11 } from "../../src/pkcs11/lib.js";
import type { Handle, Pkcs11 } from "../../src/pkcs11/lib.js";
import type { TempToken } from "../helpers/softhsm.js";
import { PIN, SOFTHSM, softhsmAvailable, tempToken } from "../helpers/softhsm.js";

const P256 = Buffer.from("06082a8648ce3d030107", "hex");

describe.skipIf(!softhsmAvailable())("the PKCS#11 module class", () => {
  let token: TempToken;
  let p11: Pkcs11;
  let session: Handle;

  beforeAll(async () => {
    token = await tempToken();
    process.env.SOFTHSM2_CONF = token.env.SOFTHSM2_CONF;
    p11 = newPkcs11();
    p11.load(SOFTHSM);
    p11.C_Initialize();
    const [slot] = p11.C_GetSlotList(true);
    if (!slot) throw new Error("no token");
    session = p11.C_OpenSession(slot, ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION);
    p11.C_Login(session, ck.CKU_USER, PIN);
  });
  afterAll(async () => {
    p11.C_Finalize();
    p11.close();
    await token[Symbol.asyncDispose]();
  });

  const ecPair = () =>
    p11.C_GenerateKeyPairAsync(
      session,
      { mechanism: ck.CKM_EC_KEY_PAIR_GEN },
      [
        { type: ck.CKA_EC_PARAMS, value: P256 },
        { type: ck.CKA_VERIFY, value: true },
      ],
      [{ type: ck.CKA_SIGN, value: true }],
    );

  it("makes a key pair on the thread pool, and signs both ways with the signature cut to size", async () => {
    const keys = await ecPair();
    const digest = Buffer.alloc(32, 7);
    p11.C_SignInit(session, { mechanism: ck.CKM_ECDSA }, keys.privateKey);
    const signature = p11.C_Sign(session, digest, Buffer.alloc(256));
    expect(signature.length).toBe(64);
    p11.C_SignInit(session, { mechanism: ck.CKM_ECDSA }, keys.privateKey);
    const pooled = await p11.C_SignAsync(session, digest, Buffer.alloc(256));
    expect(pooled.length).toBe(64);
    for (const made of [signature, pooled]) {
      p11.C_VerifyInit(session, { mechanism: ck.CKM_ECDSA }, keys.publicKey);
      expect(p11.C_Verify(session, digest, made)).toBe(true);
    }
  });

  it("encrypts, decrypts and wraps with outputs cut to size", async () => {
    const aes = await p11.C_GenerateKeyAsync(session, { mechanism: ck.CKM_AES_KEY_GEN }, [
      { type: ck.CKA_VALUE_LEN, value: 32 },
      { type: ck.CKA_ENCRYPT, value: true },
      { type: ck.CKA_DECRYPT, value: true },
      { type: ck.CKA_WRAP, value: true },
      { type: ck.CKA_EXTRACTABLE, value: true },
    ]);
    const iv = Buffer.alloc(16, 1);
    const plain = Buffer.from("seventeen bytes!!");
    const cbc = { mechanism: ck.CKM_AES_CBC_PAD, parameter: iv };
    p11.C_EncryptInit(session, cbc, aes);
    const sealed = p11.C_Encrypt(session, plain, Buffer.alloc(1024));
    expect(sealed.length).toBe(32);
    p11.C_DecryptInit(session, cbc, aes);
    expect(p11.C_Decrypt(session, sealed, Buffer.alloc(1024))).toEqual(plain);
    p11.C_DecryptInit(session, cbc, aes);
    const head = p11.C_DecryptUpdate(session, sealed, Buffer.alloc(1024));
    const tail = p11.C_DecryptFinal(session, Buffer.alloc(1024));
    expect(Buffer.concat([head, tail])).toEqual(plain);
    const wrapped = p11.C_WrapKey(
      session,
      { mechanism: ck.CKM_AES_KEY_WRAP_PAD },
      aes,
      aes,
      Buffer.alloc(1024),
    );
    expect(wrapped.length).toBe(40);
  });

  it("digests with the digest cut to size", () => {
    p11.C_DigestInit(session, { mechanism: ck.CKM_SHA256 });
    p11.C_DigestUpdate(session, Buffer.from("abc"));
    expect(p11.C_DigestFinal(session, Buffer.alloc(64)).toString("hex")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("fails with the addon's errors, which ckr.ts names, sync and on the thread pool", async () => {
    let failed: unknown;
    try {
      p11.C_Sign(session, Buffer.alloc(32), Buffer.alloc(64));
    } catch (error) {
      failed = error;
    }
    expect(ckrOf(failed)).toBe("CKR_OPERATION_NOT_INITIALIZED");
    const pooled = await p11
      .C_SignAsync(session, Buffer.alloc(32), Buffer.alloc(64))
      .catch((error: unknown) => error);
    expect(ckrOf(pooled)).toBe("CKR_OPERATION_NOT_INITIALIZED");
    const refused = await p11
      .C_GenerateKeyPairAsync(session, { mechanism: ck.CKM_EC_KEY_PAIR_GEN }, [], [])
      .catch((error: unknown) => error);
    expect(ckrOf(refused)).toBe("CKR_TEMPLATE_INCOMPLETE");
    const noKey = await p11
      .C_GenerateKeyAsync(session, { mechanism: ck.CKM_AES_KEY_GEN }, [])
      .catch((error: unknown) => error);
    expect(ckrOf(noKey)).toMatch(/^CKR_(TEMPLATE_INCOMPLETE|ATTRIBUTE_VALUE_INVALID)$/);
  });
});
