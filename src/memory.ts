/**
 * For commands that run long over many small steps (a batch, the listing of a large token):
 * V8's young generation is kept at its first size (1 MiB a semi-space) instead of doubling,
 * up to 16 MiB, whenever much of it survives a scavenge. Their garbage dies young, so the
 * cost is a few more cheap scavenges; the gain is ~10 MiB less peak RSS for a 1,000-device
 * batch and ~5 MiB for a 10,000-object listing (bench/provision.mjs, bench/list-objects.mjs).
 * Set at run time rather than as a flag at start, which would make V8 refuse the build's
 * code caches (made under the default flags); V8 reads this one each time it would grow.
 */
import { setFlagsFromString } from "node:v8";

export function keepYoungGenerationSmall(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}
