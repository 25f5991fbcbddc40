import { ckrOf } from "./ckr.js";
import type { Pkcs11 } from "./lib.js";

export type TraceSink = (line: string) => void;

/** Argument positions that carry a PIN, per function: always printed as ***. */
const PIN_ARGS: Readonly<Record<string, readonly number[]>> = {
  C_Login: [2],
  C_InitToken: [1],
  C_InitPIN: [1],
  C_SetPIN: [1, 2],
};

/**
 * Argument positions that carry a handle (a slot, session or object id), beyond the first
 * argument, which is one for every function that takes any (see FIRST_NOT_A_HANDLE).
 */
const HANDLE_ARGS: Readonly<Record<string, readonly number[]>> = {
  C_CopyObject: [1],
  C_DestroyObject: [1],
  C_GetObjectSize: [1],
  C_GetAttributeValue: [1],
  C_SetAttributeValue: [1],
  C_DigestKey: [1],
  C_EncryptInit: [2],
  C_DecryptInit: [2],
  C_SignInit: [2],
  C_VerifyInit: [2],
  C_SignRecoverInit: [2],
  C_VerifyRecoverInit: [2],
  C_WrapKey: [2, 3],
  C_UnwrapKey: [2],
  C_DeriveKey: [2],
};

/** Functions whose first argument is not a handle. */
const FIRST_NOT_A_HANDLE = new Set([
  "C_Initialize",
  "C_Finalize",
  "C_GetInfo",
  "C_GetSlotList",
  "C_WaitForSlotEvent",
]);

function isHandleArg(name: string, index: number): boolean {
  if (index === 0) return !FIRST_NOT_A_HANDLE.has(name.replace(/Async$/, ""));
  return HANDLE_ARGS[name.replace(/Async$/, "")]?.includes(index) ?? false;
}

/** The machine's byte order, read off a typed array (node:os would cost every start 0.4 ms). */
const BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

/**
 * A handle as the number it is: pkcs11js passes CK_ULONGs as buffers in the machine's byte
 * order (8 bytes on 64-bit hosts), so their bytes printed in order would read backwards.
 */
export function formatHandle(handle: Buffer): string {
  if (handle.length === 8) {
    const value = BIG_ENDIAN ? handle.readBigUInt64BE(0) : handle.readBigUInt64LE(0);
    return `0x${value.toString(16)}`;
  }
  if (handle.length === 4) {
    const value = BIG_ENDIAN ? handle.readUInt32BE(0) : handle.readUInt32LE(0);
    return `0x${value.toString(16)}`;
  }
  return `0x${handle.toString("hex")}`;
}

function formatArg(value: unknown): string {
  if (Buffer.isBuffer(value)) {
    return value.length <= 8 ? `0x${value.toString("hex")}` : `<${value.length} bytes>`;
  }
  if (Array.isArray(value)) return `[${value.length} items]`;
  if (typeof value === "object" && value !== null) {
    if ("mechanism" in value) return `{mechanism: 0x${Number(value.mechanism).toString(16)}}`;
    return "{...}";
  }
  if (typeof value === "function") return "<callback>";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function formatCall(name: string, args: unknown[]): string {
  const secret = PIN_ARGS[name] ?? [];
  const shown = args.map((arg, i) => {
    if (secret.includes(i)) return "***";
    if (Buffer.isBuffer(arg) && isHandleArg(name, i)) return formatHandle(arg);
    return formatArg(arg);
  });
  return `${name}(${shown.join(", ")})`;
}

/**
 * Wraps a module so that each C_* call and its CKR_ result go to the sink (`-v`).
 * PIN arguments are redacted by position, never printed.
 */
export function traced(lib: Pkcs11, sink: TraceSink): Pkcs11 {
  return new Proxy(lib, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== "string" || !property.startsWith("C_")) return value;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const call = formatCall(property, args);
        try {
          const result: unknown = Reflect.apply(
            value as (...a: unknown[]) => unknown,
            target,
            args,
          );
          if (result instanceof Promise) {
            return result.then(
              (settled: unknown) => {
                sink(`${call} -> CKR_OK`);
                return settled;
              },
              (error: unknown) => {
                sink(`${call} -> ${ckrOf(error) ?? "error"}`);
                throw error;
              },
            );
          }
          sink(`${call} -> CKR_OK`);
          return result;
        } catch (error) {
          sink(`${call} -> ${ckrOf(error) ?? "error"}`);
          throw error;
        }
      };
    },
  });
}
