/**
 * The only place that loads pkcs11js: its native addon, whose object holds the CK* constants
 * and the PKCS11 class, taken directly. pkcs11js's index.js adds a subclass that wraps each
 * instance's seventy methods when one is made (1 ms and 120 KB of every start) and copies the
 * addon's 656 constants into a new object (7.6 ms); tsp11 needs neither. Its types are used.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as Pkcs11jsModule from "pkcs11js";
import type { Handle, KeyPair, Mechanism, Template } from "pkcs11js";

export type {
  Attribute,
  Handle,
  MechanismInfo,
  Mechanism,
  ModuleInfo,
  SlotInfo,
  Template,
  TokenInfo,
} from "pkcs11js";

const ADDON = "pkcs11js/build/Release/pkcs11.node";

/**
 * The addon's file, where Node's lookup from this file (the bundle's place, else the
 * source's) finds it first: the node_modules of this directory or of the one or two above
 * (in a clone or an npm install, the package's own, above dist/, dist/commands/ or
 * src/pkcs11/); else by that lookup itself (NODE_PATH, a hoisted install).
 */
function addonFile(): string {
  for (const up of ["./", "../", "../../"]) {
    const file = fileURLToPath(new URL(`${up}node_modules/${ADDON}`, import.meta.url));
    if (existsSync(file)) return file;
  }
  return process
    .getBuiltinModule("node:module")
    .createRequire(import.meta.url)
    .resolve(ADDON);
}

/**
 * Loaded as require() loads a .node file, by process.dlopen, without require()'s package
 * lookups and module bookkeeping: 1 ms of every start.
 */
function loadAddon(): typeof Pkcs11jsModule {
  const module = { exports: {} as typeof Pkcs11jsModule };
  process.dlopen(module, addonFile());
  return module.exports;
}

const addon = loadAddon();

type Pkcs11js = InstanceType<typeof addon.PKCS11>;

/** The calls tsp11 makes, typed as pkcs11js's own class has them. */
export type Pkcs11 = Pick<
  Pkcs11js,
  | "load"
  | "close"
  | "C_Initialize"
  | "C_Finalize"
  | "C_GetInfo"
  | "C_GetSlotList"
  | "C_GetSlotInfo"
  | "C_GetTokenInfo"
  | "C_GetMechanismList"
  | "C_GetMechanismInfo"
  | "C_InitToken"
  | "C_InitPIN"
  | "C_SetPIN"
  | "C_OpenSession"
  | "C_CloseSession"
  | "C_Login"
  | "C_Logout"
  | "C_CreateObject"
  | "C_DestroyObject"
  | "C_GetAttributeValue"
  | "C_SetAttributeValue"
  | "C_FindObjectsInit"
  | "C_FindObjects"
  | "C_FindObjectsFinal"
  | "C_EncryptInit"
  | "C_Encrypt"
  | "C_EncryptUpdate"
  | "C_EncryptFinal"
  | "C_DecryptInit"
  | "C_Decrypt"
  | "C_DecryptUpdate"
  | "C_DecryptFinal"
  | "C_DigestInit"
  | "C_DigestUpdate"
  | "C_DigestFinal"
  | "C_SignInit"
  | "C_Sign"
  | "C_SignAsync"
  | "C_SignUpdate"
  | "C_SignFinal"
  | "C_VerifyInit"
  | "C_Verify"
  | "C_VerifyUpdate"
  | "C_VerifyFinal"
  | "C_GenerateKey"
  | "C_GenerateKeyAsync"
  | "C_GenerateKeyPair"
  | "C_GenerateKeyPairAsync"
  | "C_WrapKey"
  | "C_UnwrapKey"
  | "C_DeriveKey"
  | "C_GenerateRandom"
>;

/** The addon's callback forms, which run a call on the thread pool (not in pkcs11js's types). */
interface ThreadPoolCalls {
  C_SignCallback(
    session: Handle,
    data: Buffer,
    output: Buffer,
    done: (error: Error | null, length: number) => void,
  ): void;
  C_GenerateKeyCallback(
    session: Handle,
    mechanism: Mechanism,
    template: Template,
    done: (error: Error | null, key: Handle) => void,
  ): void;
  C_GenerateKeyPairCallback(
    session: Handle,
    mechanism: Mechanism,
    publicTemplate: Template,
    privateTemplate: Template,
    done: (error: Error | null, keys: KeyPair) => void,
  ): void;
}

/** Calls that fill an output buffer, and the buffer's position among their arguments. */
const OUTPUT_ARGUMENT = {
  C_Sign: 2,
  C_SignFinal: 1,
  C_Encrypt: 2,
  C_EncryptUpdate: 2,
  C_EncryptFinal: 1,
  C_Decrypt: 2,
  C_DecryptUpdate: 2,
  C_DecryptFinal: 1,
  C_DigestFinal: 1,
  C_WrapKey: 4,
} as const;

/** A call that fills `output` returns the length it used: the part filled. */
function filled(output: Buffer, length: unknown): Buffer {
  return output.subarray(0, length as number);
}

function settled<T>(resolve: (value: T) => void, reject: (error: Error) => void) {
  return (error: Error | null, value: T) => {
    if (error) reject(error);
    else resolve(value);
  };
}

/**
 * The addon's class with the conventions of pkcs11js's types for the calls that differ, given
 * once, on its prototype. Errors are the addon's own (`CKR_NAME:code`, which ckr.ts reads).
 */
class Module extends addon.PKCS11 {
  #pool(): ThreadPoolCalls {
    return this as unknown as ThreadPoolCalls;
  }

  override C_SignAsync(session: Handle, data: Buffer, output: Buffer): Promise<Buffer> {
    return new Promise<number>((resolve, reject) => {
      this.#pool().C_SignCallback(session, data, output, settled(resolve, reject));
    }).then((length) => filled(output, length));
  }

  override C_GenerateKeyAsync(
    session: Handle,
    mechanism: Mechanism,
    template: Template,
  ): Promise<Handle> {
    return new Promise((resolve, reject) => {
      this.#pool().C_GenerateKeyCallback(session, mechanism, template, settled(resolve, reject));
    });
  }

  override C_GenerateKeyPairAsync(
    session: Handle,
    mechanism: Mechanism,
    publicTemplate: Template,
    privateTemplate: Template,
  ): Promise<KeyPair> {
    return new Promise((resolve, reject) => {
      this.#pool().C_GenerateKeyPairCallback(
        session,
        mechanism,
        publicTemplate,
        privateTemplate,
        settled(resolve, reject),
      );
    });
  }
}

type Call = (this: unknown, ...args: unknown[]) => unknown;
const addonCalls = addon.PKCS11.prototype as unknown as Record<string, Call>;
for (const [name, position] of Object.entries(OUTPUT_ARGUMENT)) {
  const call = addonCalls[name];
  if (!call) throw new Error(`pkcs11js has no ${name}`);
  Object.defineProperty(Module.prototype, name, {
    value: function (this: unknown, ...args: unknown[]): Buffer {
      return filled(args[position] as Buffer, call.apply(this, args));
    },
    writable: true,
    configurable: true,
  });
}

/** A module not loaded yet (load() it). */
export function newPkcs11(): Pkcs11 {
  return new Module();
}

/** CK* constants by name (CKA_ID, CKM_ECDSA, ...). */
export const ck = addon;

/** Values pkcs11js 2.1.7 has no (typed) constants for: PKCS#11 3.0 ones, and a slot flag. */
export const ck3 = {
  CKF_TOKEN_PRESENT: 0x1,
  CKK_EC_EDWARDS: 0x40,
  CKK_EC_MONTGOMERY: 0x41,
  CKM_EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  CKM_EC_MONTGOMERY_KEY_PAIR_GEN: 0x1056,
  CKM_EDDSA: 0x1057,
  CKA_PUBLIC_KEY_INFO: 0x129,
} as const;

/** CK_ULONG slot ids come back as native-endian 8-byte buffers. */
export function slotIdOf(handle: Buffer): number {
  return Number(handle.length >= 8 ? handle.readBigUInt64LE(0) : BigInt(handle.readUInt32LE(0)));
}
