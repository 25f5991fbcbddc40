/**
 * Releases that must run even on Ctrl-C (sessions, module finalization). Kept free of
 * pkcs11js so the entry point can hold it without loading the addon.
 */
const releases = new Set<() => void>();

export function onInterrupt(release: () => void): () => void {
  releases.add(release);
  return () => releases.delete(release);
}

/** Runs every registered release, newest first; each is expected never to throw. */
export function releaseAll(): void {
  for (const release of [...releases].reverse()) {
    releases.delete(release);
    release();
  }
}
