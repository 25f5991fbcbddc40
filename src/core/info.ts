import { readFileSync } from "node:fs";
import type { Pkcs11Module } from "../pkcs11/module.js";
import { trimPadded } from "../pkcs11/names.js";
import type { SoftHsmStore } from "./softhsm-store.js";
import { isSoftHsm, softHsmStore } from "./softhsm-store.js";

/** The contract's `info` JSON: what C_GetInfo says about the module. */
export interface InfoJson {
  cryptokiVersion: string;
  manufacturer: string;
  libraryDescription: string;
  libraryVersion: string;
  module: string;
  /** SoftHSM2 only: the config and token directory this run uses. */
  softhsm2?: SoftHsmStore;
}

export interface InfoResult {
  info: InfoJson;
  /**
   * Whether the library exports C_GetInterfaceList (PKCS#11 3.0 interfaces); undefined when
   * its symbol table could not be read (not a 64-bit little-endian ELF file).
   */
  interfaceList: boolean | undefined;
}

function version(value: { major: number; minor: number }): string {
  return `${value.major}.${value.minor}`;
}

/**
 * Whether an ELF64 little-endian shared library defines a dynamic symbol. pkcs11js 2.1.7
 * binds only C_GetFunctionList, so this is how tsp11 learns that a module has PKCS#11 3.0
 * interfaces (whose C_GetInfo may then report a different version, as OpenSC's does).
 */
export function exportsSymbol(path: string, name: string): boolean | undefined {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return undefined;
  }
  const isElf64Le =
    file.length > 0x40 && file.readUInt32BE(0) === 0x7f454c46 && file[4] === 2 && file[5] === 1;
  if (!isElf64Le) return undefined;
  const shoff = Number(file.readBigUInt64LE(0x28));
  const shentsize = file.readUInt16LE(0x3a);
  const shnum = file.readUInt16LE(0x3c);
  const section = (index: number) => {
    const at = shoff + index * shentsize;
    return {
      type: file.readUInt32LE(at + 4),
      offset: Number(file.readBigUInt64LE(at + 0x18)),
      size: Number(file.readBigUInt64LE(at + 0x20)),
      link: file.readUInt32LE(at + 0x28),
      entsize: Number(file.readBigUInt64LE(at + 0x38)),
    };
  };
  if (shoff === 0 || shoff + shnum * shentsize > file.length) return undefined;
  const SHT_DYNSYM = 11;
  const wanted = Buffer.from(`${name}\0`, "latin1");
  for (let i = 0; i < shnum; i++) {
    const dynsym = section(i);
    if (dynsym.type !== SHT_DYNSYM || dynsym.entsize < 24) continue;
    const strtab = section(dynsym.link);
    for (let at = dynsym.offset; at + 24 <= dynsym.offset + dynsym.size; at += dynsym.entsize) {
      const nameAt = strtab.offset + file.readUInt32LE(at);
      const defined = file.readUInt16LE(at + 6) !== 0;
      if (defined && file.subarray(nameAt, nameAt + wanted.length).equals(wanted)) return true;
    }
    return false;
  }
  return false;
}

export function runInfo(module: Pkcs11Module): InfoResult {
  const info = module.info();
  return {
    info: {
      cryptokiVersion: version(info.cryptokiVersion),
      manufacturer: trimPadded(info.manufacturerID),
      libraryDescription: trimPadded(info.libraryDescription),
      libraryVersion: version(info.libraryVersion),
      module: module.path,
      ...(isSoftHsm(module.path) ? { softhsm2: softHsmStore() } : {}),
    },
    interfaceList: exportsSymbol(module.path, "C_GetInterfaceList"),
  };
}

/** One line on the module's PKCS#11 3.0 interfaces, for the human output. */
export function describeInterfaces(interfaceList: boolean | undefined): string {
  if (interfaceList === undefined) {
    return "not listed (pkcs11js 2.1.7 has no C_GetInterfaceList; the version is C_GetInfo's)";
  }
  if (!interfaceList) return "none (no C_GetInterfaceList: a PKCS#11 2.x module)";
  return "the module has PKCS#11 3.0 interfaces (C_GetInterfaceList), which pkcs11js 2.1.7 cannot list; the version above is C_GetInfo's through C_GetFunctionList";
}
