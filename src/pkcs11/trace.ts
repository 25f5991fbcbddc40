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
  const shown = args.map((arg, i) => (secret.includes(i) ? "***" : formatArg(arg)));
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
