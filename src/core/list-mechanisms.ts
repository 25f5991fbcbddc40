import { ck } from "../pkcs11/lib.js";
import { mechanismName, slotMechanisms } from "../pkcs11/mechanisms.js";
import type { Pkcs11Module } from "../pkcs11/module.js";
import { mechanismFlagNames } from "../pkcs11/names.js";
import type { SelectOptions, SlotEntry, TokenSelector } from "../pkcs11/select.js";
import { hasSelector, selectToken } from "../pkcs11/select.js";

/** The contract's list-mechanisms JSON item. */
export interface MechanismJson {
  name: string;
  id: number;
  minKeySize: number;
  maxKeySize: number;
  flags: string[];
}

export interface ListMechanismsResult {
  slot: SlotEntry;
  mechanisms: MechanismJson[];
}

/** Flag names, and bits no name covers as 0x hex (p11-kit's client sets some). */
export function flagsOf(flags: number): string[] {
  const named = mechanismFlagNames(flags);
  const known = named.reduce(
    (bits, name) => bits | ((ck as unknown as Record<string, number>)[name] ?? 0),
    0,
  );
  const rest = (flags & ~known) >>> 0;
  const unknown: string[] = [];
  for (let bit = 1; bit !== 0 && bit <= rest; bit = (bit << 1) >>> 0) {
    if ((rest & bit) !== 0) unknown.push(`0x${bit.toString(16)}`);
  }
  return [...named, ...unknown];
}

/**
 * The mechanisms of the selected token's slot, in the module's order, no login needed. A
 * named slot may hold an uninitialized token (its mechanisms are the slot's all the same).
 */
export function runListMechanisms(
  module: Pkcs11Module,
  selector: TokenSelector,
  options: Pick<SelectOptions, "emptyHint">,
): ListMechanismsResult {
  const slot = selectToken(module, selector, {
    ...options,
    uninitialized: hasSelector(selector),
  });
  const mechanisms = slotMechanisms(module, slot.handle).map(({ type, info }) => ({
    name: mechanismName(type),
    id: type,
    minKeySize: info.minKeySize,
    maxKeySize: info.maxKeySize,
    flags: flagsOf(info.flags),
  }));
  return { slot, mechanisms };
}
