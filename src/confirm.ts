import { STDERR } from "./output/stdio.js";

/** Asks a yes/no question on the terminal (stderr); only "y" or "yes" is a yes. */
export async function confirm(question: string): Promise<boolean> {
  // Loaded on use: most runs never ask.
  const { createInterface } = await import("node:readline/promises");
  const terminal = createInterface({ input: process.stdin, output: STDERR.stream() });
  try {
    const answer = await terminal.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    terminal.close();
  }
}
