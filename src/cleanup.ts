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

/** Returns true when it took care of the signal; false leaves it to the default. */
export type SignalHandler = (signal: NodeJS.Signals) => boolean;
let signalHandler: SignalHandler | undefined;

/**
 * Lets a long-running command (serve) take SIGINT/SIGTERM over, e.g. for a graceful shutdown;
 * the default (release everything, exit 130) stays for whatever the handler declines.
 */
export function overrideSignals(handler: SignalHandler | undefined): void {
  signalHandler = handler;
}

/** Critical sections in progress (a key pair being made): signals wait for them to end. */
let deferring = 0;
let deferred: NodeJS.Signals | undefined;

/** A handler (serve's graceful stop) goes first; the default exit waits for critical sections. */
export function signalHandled(signal: NodeJS.Signals): boolean {
  if (signalHandler?.(signal)) return true;
  if (deferring > 0) {
    deferred = signal;
    return true;
  }
  return false;
}

/**
 * Runs `fn` with SIGINT/SIGTERM held back: a signal that arrives meanwhile is delivered
 * again once `fn` has finished (or undone) its work, so a signal never cuts it in half.
 */
export async function withSignalsDeferred<T>(fn: () => Promise<T>): Promise<T> {
  deferring++;
  try {
    return await fn();
  } finally {
    deferring--;
    const signal = deferring === 0 ? deferred : undefined;
    if (signal) {
      deferred = undefined;
      process.kill(process.pid, signal);
    }
  }
}
