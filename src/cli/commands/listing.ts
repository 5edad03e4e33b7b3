/**
 * Lists for people and scripts: by default the first `--limit` items (100), so a registry of
 * millions does not scroll past; `--all` streams every page as it arrives, in bounded memory — as
 * rows for people, as one JSON array written element by element with --json.
 */
import type { Command } from 'commander';
import type { ApiClient, ApiRequest } from '../api-client.ts';
import type { ClientIo } from './client-io.ts';
import type { Printer } from './output.ts';
import { UsageError } from './cli-error.ts';

export const DEFAULT_LIST_LIMIT = 100;
const PAGE_SIZE = 1000;

export interface ListOptions {
  readonly limit?: string;
  readonly all?: boolean;
}

export function addListOptions(command: Command, noun: string): Command {
  return command
    .option('--limit <n>', `show at most this many ${noun} (default ${DEFAULT_LIST_LIMIT})`)
    .option('--all', `stream every ${noun.replace(/s$/, '')}, page by page`);
}

function limitOf(options: ListOptions): number {
  if (options.all === true) {
    if (options.limit !== undefined) throw new UsageError('Give --limit or --all, not both.');
    return Number.POSITIVE_INFINITY;
  }
  if (options.limit === undefined) return DEFAULT_LIST_LIMIT;
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new UsageError(`--limit must be a whole number ≥ 1, got ${JSON.stringify(options.limit)}.`, {
      option: '--limit',
    });
  }
  return limit;
}

/** Pads each row's cells to the widths of the first page (later pages may not be known yet). */
function rowWriter(printer: Printer, columns: readonly string[]) {
  let widths: number[] | null = null;
  const cell = (value: unknown) =>
    value === null || value === undefined
      ? '-'
      : Array.isArray(value)
        ? value.length === 0
          ? '-'
          : value.join(',')
        : String(value);
  return (rows: ReadonlyArray<Record<string, unknown>>) => {
    const cells = rows.map((row) => columns.map((column) => cell(row[column])));
    if (widths === null) {
      widths = columns.map((column, i) => Math.max(column.length, ...cells.map((r) => r[i]!.length)));
      printer.line(columns.map((c, i) => c.padEnd(widths![i]!)).join('  ').trimEnd());
    }
    for (const row of cells) printer.line(row.map((v, i) => v.padEnd(widths![i]!)).join('  ').trimEnd());
  };
}

/**
 * Prints a cursor-paginated list. Returns how many items were printed; says on stderr when more
 * exist than were shown.
 */
export async function printList<T extends object>(
  io: ClientIo,
  printer: Printer,
  client: ApiClient,
  path: string,
  query: ApiRequest['query'],
  options: ListOptions,
  columns: readonly string[],
  noun: string,
  /** What a person sees of an item (e.g. nested counts as columns); JSON keeps the item as it is. */
  toRow: (item: T) => Record<string, unknown> = (item) => item as Record<string, unknown>,
): Promise<number> {
  const max = limitOf(options);
  const writeRows = rowWriter(printer, columns);
  let shown = 0;
  let cursor: string | null = null;
  let more = false;
  // The array opens after the first page arrived: a failure before it leaves stdout to the error.
  let opened = false;
  do {
    const page: { items: T[]; nextCursor: string | null } = await client.get(path, {
      ...query,
      limit: Math.min(PAGE_SIZE, max - shown),
      ...(cursor === null ? {} : { cursor }),
    });
    const items = page.items.slice(0, max - shown);
    if (printer.json && !opened) {
      io.stdout.write('[');
      opened = true;
    }
    if (printer.json) {
      const text = items.map((item) => JSON.stringify(item)).join(',\n');
      if (text.length > 0) io.stdout.write(`${shown === 0 ? '\n' : ',\n'}${text}`);
    } else if (items.length > 0) {
      writeRows(items.map(toRow));
    }
    shown += items.length;
    cursor = page.nextCursor;
    more = cursor !== null && shown >= max;
  } while (cursor !== null && shown < max);
  if (printer.json) io.stdout.write(shown === 0 ? ']\n' : '\n]\n');
  else if (shown === 0) printer.line('(none)');
  if (more) printer.warn(`(first ${shown} ${noun} shown; --limit <n> or --all for more)`);
  return shown;
}
