/**
 * Human output: a table on a terminal, bare tab-separated rows when piped (for cut/awk).
 * --json never comes here.
 */
import type { Output } from "./io.js";

export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

export async function printTable<T>(
  output: Output,
  columns: Column<T>[],
  rows: T[],
): Promise<void> {
  if (output.settings.quiet) return;
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  if (!output.stdoutTTY) {
    for (const line of cells) output.write(`${line.join("\t")}\n`);
    return;
  }
  const { default: Table } = await import("cli-table3");
  // cli-table3 colours headers and borders itself; colour is ours to decide.
  const table = new Table({
    head: columns.map((column) => output.color.bold(column.header)),
    style: { head: [], border: [], compact: true },
  });
  table.push(...cells);
  output.write(`${table.toString()}\n`);
}

/** `key: value` lines for one record (keygen, init-token results). */
export function printRecord(output: Output, record: [string, string | undefined][]): void {
  if (output.settings.quiet) return;
  const width = Math.max(...record.map(([key]) => key.length));
  for (const [key, value] of record) {
    if (value === undefined) continue;
    const label = output.stdoutTTY ? output.color.bold(key.padEnd(width)) : key.padEnd(width);
    output.write(`${label}  ${value}\n`);
  }
}
