/**
 * V8 settings for commands that run long over many small steps, set at run time rather than
 * as flags at start, which would make V8 refuse the build's code caches (made under the
 * default flags); V8 reads these as it goes. Their garbage dies young, so the cost is a few
 * more cheap collections (no slower, measured by bench/provision.mjs and
 * bench/list-objects.mjs).
 */
import { setFlagsFromString } from "node:v8";

/**
 * The young generation stays at its first size (1 MiB a semi-space) instead of doubling, up
 * to 16 MiB, whenever much of it survives a scavenge: a 10,000-object listing peaks ~12 MiB
 * lower.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}

/**
 * That, and V8's optimize-for-size mode (the old generation grows by smaller steps): a
 * 1,000-device batch peaks ~18 MiB lower in all. (A listing peaks ~5 MiB higher with the
 * mode, measured: it keeps to the young generation alone.)
 */
export function favourMemoryOverSpeed(): void {
  keepYoungGenerationSmall();
  setFlagsFromString("--optimize-for-size");
}
