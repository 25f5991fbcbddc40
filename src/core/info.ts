import type { Pkcs11Module } from "../pkcs11/module.js";
import { trimPadded } from "../pkcs11/names.js";

/** The contract's `info` JSON: what C_GetInfo says about the module. */
export interface InfoJson {
  cryptokiVersion: string;
  manufacturer: string;
  libraryDescription: string;
  libraryVersion: string;
  module: string;
}

/**
 * PKCS#11 3.0 modules may offer several interfaces (C_GetInterfaceList); pkcs11js 2.1.7 has
 * no binding for it, so the module's own C_GetInfo is all there is to report.
 */
export const INTERFACES_NOTE =
  "not listed: pkcs11js 2.1.7 has no C_GetInterfaceList; the version is C_GetInfo's";

function version(value: { major: number; minor: number }): string {
  return `${value.major}.${value.minor}`;
}

export function runInfo(module: Pkcs11Module): InfoJson {
  const info = module.info();
  return {
    cryptokiVersion: version(info.cryptokiVersion),
    manufacturer: trimPadded(info.manufacturerID),
    libraryDescription: trimPadded(info.libraryDescription),
    libraryVersion: version(info.libraryVersion),
    module: module.path,
  };
}
