/**
 * Output for people and for scripts: `--json` prints one JSON document; otherwise tables and
 * key/value blocks, with colours only when stdout is a terminal (and NO_COLOR is unset).
 */
import type { ClientIo } from './client-io.ts';

export interface Printer {
  readonly json: boolean;
  readonly colours: boolean;
  /** The JSON document (with --json) or nothing. */
  data(value: unknown): void;
  /** A line for people (skipped with --json). */
  line(text?: string): void;
  table(rows: ReadonlyArray<object>, columns: readonly string[]): void;
  fields(record: Readonly<Record<string, unknown>>): void;
  /** Diagnostics: always stderr. */
  warn(text: string): void;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function createPrinter(io: ClientIo, json: boolean): Printer {
  const colours = io.stdout.isTTY === true && !io.env['NO_COLOR'];
  const paint = (code: number) => (text: string) => (colours ? `\u001b[${code}m${text}\u001b[0m` : text);
  const out = (text: string) => io.stdout.write(`${text}\n`);
  return {
    json,
    colours,
    data(value) {
      if (json) out(JSON.stringify(value, null, 2));
    },
    line(text = '') {
      if (!json) out(text);
    },
    table(rows, columns) {
      if (json) return;
      if (rows.length === 0) {
        out('(none)');
        return;
      }
      const cells = rows.map((row) =>
        columns.map((column) => cell((row as Record<string, unknown>)[column])),
      );
      const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((r) => r[i]!.length)));
      const render = (values: readonly string[]) =>
        values
          .map((v, i) => v.padEnd(widths[i]!))
          .join('  ')
          .trimEnd();
      out(colours ? `\u001b[1m${render(columns)}\u001b[0m` : render(columns));
      for (const row of cells) out(render(row));
    },
    fields(record) {
      if (json) return;
      const width = Math.max(...Object.keys(record).map((k) => k.length));
      for (const [name, value] of Object.entries(record))
        out(`${`${name}:`.padEnd(width + 2)}${cell(value)}`);
    },
    warn(text) {
      io.stderr.write(`${text}\n`);
    },
    green: paint(32),
    red: paint(31),
    yellow: paint(33),
    dim: paint(2),
  };
}
