/**
 * Waiting, on the global timers: node:timers/promises would be one more built-in module for
 * every start to load (0.15 ms) for calls that seldom wait.
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves after the event loop's next turn: I/O and signals get their say. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
