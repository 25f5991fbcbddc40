/** How this process compiled tsp11 (src/launch.ts decides; `tsp11 version` says it). */
import type { StartMode } from "./launch.js";

let current: StartMode = "node-loader";

export function setStartMode(mode: StartMode): void {
  current = mode;
}

export function startMode(): StartMode {
  return current;
}
