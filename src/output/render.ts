/**
 * Human output: a table on a terminal, fitted to its width; bare tab-separated rows when piped
 * (for cut/awk), in each command's documented column order, with `--header` naming them.
 * --json never comes here.
 */
import { stripVTControlCharacters } from "node:util";
import type { Output } from "./io.js";
import { ChunkedWriter } from "./io.js";

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /**
   * May be shortened with an ellipsis to fit the terminal: at its end (a subject) or in its
   * middle (a URI, whose token part repeats and whose object part tells rows apart).
   */
  shrink?: "end" | "middle";
  /** Left out of a terminal table when no row has a value for it. */
  optional?: boolean;
  /**
   * Left out of a terminal table too narrow for every column at its shortest (the URI:
   * `--wide`, `--json` and piped output always have it).
   */
  droppable?: boolean;
}

export interface TableOptions<T> {
  /** Show every column whole, however wide the terminal (`--wide`). */
  wide?: boolean | undefined;
  /** Piped output starts with a line of the column names (`--header`). */
  header?: boolean | undefined;
  /** The piped columns when their documented order is not the table's. */
  tsv?: Column<T>[] | undefined;
}

/** A shrunk column keeps at least this many characters (ellipsis included). */
const MIN_SHRUNK_WIDTH = 8;
/** A droppable column shorter than this says too little to be worth its place. */
const MIN_DROPPABLE_WIDTH = 24;
/** cli-table3's compact style: a border and a space on each side of every cell. */
const CELL_OVERHEAD = 3;

/** Made on first use: creating one loads ICU's break rules, some milliseconds of a start. */
let segmenter: Intl.Segmenter | undefined;

/** Printable ASCII: one character, one column, no segmentation needed. */
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

/** User-perceived characters, so an ellipsis never cuts an accent or an emoji in two. */
function graphemes(text: string): string[] {
  if (PLAIN_ASCII.test(text)) return text.split("");
  segmenter ??= new Intl.Segmenter();
  return Array.from(segmenter.segment(text), (part) => part.segment);
}

export function displayWidth(text: string): number {
  return graphemes(stripVTControlCharacters(text)).length;
}

export function shorten(text: string, width: number, where: "end" | "middle"): string {
  const chars = graphemes(text);
  if (chars.length <= width) return text;
  if (width <= 1) return "…".slice(0, width);
  if (where === "end") return `${chars.slice(0, width - 1).join("")}…`;
  const head = Math.ceil((width - 1) / 2);
  const tail = width - 1 - head;
  return `${chars.slice(0, head).join("")}…${tail > 0 ? chars.slice(-tail).join("") : ""}`;
}

/**
 * The widths that fit `available` columns: shrinkable columns are capped at one common width
 * (the widest give up most), never below MIN_SHRUNK_WIDTH; the others keep theirs, so a
 * table of wide fixed columns may still overflow (the terminal wraps it).
 */
export function fitWidths(natural: number[], shrinkable: boolean[], available: number): number[] {
  const overhead = CELL_OVERHEAD * natural.length + 1;
  const total = natural.reduce((sum, width) => sum + width, 0) + overhead;
  if (total <= available) return natural;
  const fixed = natural.reduce((sum, width, i) => (shrinkable[i] ? sum : sum + width), 0);
  let budget = available - overhead - fixed;
  const flexible = natural.map((width, i) => (shrinkable[i] ? width : -1)).filter((w) => w >= 0);
  flexible.sort((a, b) => a - b);
  // Water-filling: the largest cap such that the capped widths use at most the budget.
  let cap = MIN_SHRUNK_WIDTH;
  let remaining = flexible.length;
  for (const width of flexible) {
    const even = Math.floor(budget / remaining);
    if (width <= even) {
      budget -= width;
      remaining--;
      continue;
    }
    cap = Math.max(MIN_SHRUNK_WIDTH, even);
    break;
  }
  if (remaining === 0) return natural;
  return natural.map((width, i) => (shrinkable[i] ? Math.min(width, cap) : width));
}

function tableWidth(widths: number[]): number {
  return widths.reduce((sum, width) => sum + width, 0) + CELL_OVERHEAD * widths.length + 1;
}

/**
 * Shortens the shrinkable columns to fit `available`; where even their shortest forms do
 * not fit, leaves out the droppable columns first.
 */
function fitToTerminal<T>(
  columns: Column<T>[],
  cells: string[][],
  available: number,
): { visible: Column<T>[]; cells: string[][] } {
  const natural = columns.map((column, i) =>
    Math.max(displayWidth(column.header), ...cells.map((line) => displayWidth(line[i] ?? ""))),
  );
  const shortest = natural.map((width, i) =>
    columns[i]?.shrink ? Math.min(width, MIN_SHRUNK_WIDTH) : width,
  );
  let keep = columns.map(() => true);
  const fit = () =>
    fitWidths(
      natural.filter((_, i) => keep[i]),
      columns.filter((_, i) => keep[i]).map((column) => column.shrink !== undefined),
      available,
    );
  let widths = fit();
  const squeezed = columns.some(
    (column, i) =>
      column.droppable === true &&
      (widths[i] ?? 0) < Math.min(natural[i] ?? 0, MIN_DROPPABLE_WIDTH),
  );
  if (tableWidth(shortest) > available || squeezed) {
    keep = columns.map((column) => column.droppable !== true);
    widths = fit();
  }
  const kept = columns.filter((_, i) => keep[i]);
  const fitted = cells.map((line) =>
    line
      .filter((_, i) => keep[i])
      .map((text, i) => {
        const shrink = kept[i]?.shrink;
        return shrink ? shorten(text, widths[i] ?? text.length, shrink) : text;
      }),
  );
  return { visible: kept, cells: fitted };
}

function tsvLine<T>(columns: Column<T>[], row: T): string {
  // A tab or newline inside a value would shift every later column: shown as a space.
  return `${columns.map((column) => column.value(row).replace(/[\t\n\r]/g, " ")).join("\t")}\n`;
}

function tsvHeader<T>(columns: Column<T>[]): string {
  return `${columns.map((column) => column.header).join("\t")}\n`;
}

function printTsv<T>(output: Output, columns: Column<T>[], rows: T[], header: boolean): void {
  if (header) output.write(tsvHeader(columns));
  for (const row of rows) output.write(tsvLine(columns, row));
}

/**
 * printTable for rows that come one at a time (a listing as it is read). Piped, each row is
 * written as it comes, in chunks. A terminal table's columns are fitted to their widest
 * cells, which only the last row settles: there the rows are gathered first (a terminal is
 * read by a person; thousands of rows are for pipes). Under --quiet the rows are still
 * drawn, for what the caller notes on the way, and nothing is written.
 */
export async function printRowsAsRead<T>(
  output: Output,
  columns: Column<T>[],
  rows: AsyncIterable<T>,
  options: TableOptions<T> = {},
): Promise<void> {
  if (output.settings.quiet) {
    const drain = rows[Symbol.asyncIterator]();
    while (!(await drain.next()).done);
    return;
  }
  if (output.stdoutTTY) {
    const all: T[] = [];
    for await (const row of rows) all.push(row);
    await printTable(output, columns, all, options);
    return;
  }
  const tsv = options.tsv ?? columns;
  const out = new ChunkedWriter(output);
  if (options.header === true) out.add(tsvHeader(tsv));
  for await (const row of rows) out.add(tsvLine(tsv, row));
  out.flush();
}

export async function printTable<T>(
  output: Output,
  columns: Column<T>[],
  rows: T[],
  options: TableOptions<T> = {},
): Promise<void> {
  if (output.settings.quiet) return;
  if (!output.stdoutTTY) {
    printTsv(output, options.tsv ?? columns, rows, options.header === true);
    return;
  }
  let cells = rows.map((row) => columns.map((column) => column.value(row)));
  const shown = columns.map(
    (column, i) => column.optional !== true || cells.some((line) => line[i] !== ""),
  );
  let visible = columns.filter((_, i) => shown[i]);
  cells = cells.map((line) => line.filter((_, i) => shown[i]));
  if (options.wide !== true) {
    ({ visible, cells } = fitToTerminal(visible, cells, output.columns));
  }
  const { default: Table } = await import("cli-table3");
  // cli-table3 colours headers and borders itself; colour is ours to decide.
  const table = new Table({
    head: visible.map((column) => output.color.bold(column.header)),
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
