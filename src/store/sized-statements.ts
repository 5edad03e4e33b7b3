/**
 * Statements over a variable number of items (an IN list, a multi-row INSERT), compiled once per
 * size and reused.
 *
 * Bulk writes run the same statement thousands of times with a different number of items each
 * time. Building it with Kysely for every call cost more than SQLite took to run it (an import of
 * 1,000,000 devices spent ~15% of its time in Kysely's value parsing and compilation), and each new
 * item count is new SQL text, prepared again. So a list of n items is cut into pieces whose sizes
 * come from a short ladder — the largest size as often as it fits, then the powers of two of the
 * rest — and each size's statement is built once (compiled-statement.ts), so the driver's
 * statement cache (SQLite) sees the same few SQL texts again and again.
 */
import { CompiledStatement } from './compiled-statement.ts';
import type { Database } from './schema.ts';
import type { Kysely } from 'kysely';

type Build = ConstructorParameters<typeof CompiledStatement>[0];

/**
 * The other way to keep SQL texts few, for statements where repeating an item changes nothing (an
 * IN list, an INSERT … ON CONFLICT DO NOTHING): one statement, its item count padded up to a power of
 * two by repeating the last item.
 */
export function paddedSize(count: number): number {
  return count <= 1 ? 1 : 2 ** Math.ceil(Math.log2(count));
}

/** The piece sizes for `count` items: `max` while it fits, then the binary digits of the rest. */
export function pieceSizes(count: number, max: number): number[] {
  const sizes: number[] = [];
  let left = count;
  for (; left >= max; left -= max) sizes.push(max);
  for (let bit = 2 ** Math.floor(Math.log2(Math.max(1, left))); left > 0; bit /= 2) {
    if (left >= bit) {
      sizes.push(bit);
      left -= bit;
    }
  }
  return sizes;
}

/** `leading` then `values`, in one array (a plain loop: spreading 20,000 values showed in profiles). */
function withLeading(leading: readonly unknown[], values: readonly unknown[]): readonly unknown[] {
  if (leading.length === 0) return values;
  const out = new Array<unknown>(leading.length + values.length);
  for (let i = 0; i < leading.length; i += 1) out[i] = leading[i];
  for (let i = 0; i < values.length; i += 1) out[leading.length + i] = values[i];
  return out;
}

export class SizedStatements<Item> {
  readonly #max: number;
  readonly #build: (size: number) => Build;
  readonly #values: (items: readonly Item[]) => readonly unknown[];
  readonly #bySize = new Map<number, CompiledStatement<readonly unknown[]>>();

  /**
   * `build(size)` builds the statement for `size` items with slots (compiled-statement.ts): the
   * leading values' slots first, then the items'; `values(items)` lays the items' values out in
   * slot order.
   */
  constructor(options: {
    readonly max: number;
    readonly build: (size: number) => Build;
    readonly values: (items: readonly Item[]) => readonly unknown[];
  }) {
    this.#max = Math.max(1, Math.floor(options.max));
    this.#build = options.build;
    this.#values = options.values;
  }

  /**
   * Runs the statement over `items` in pieces, in order; answers every piece's rows, concatenated.
   * `leading` values (an app id, a time) fill the slots before the items' values in every piece.
   */
  async execute<Row>(
    db: Kysely<Database>,
    items: readonly Item[],
    leading: readonly unknown[] = [],
  ): Promise<Row[]> {
    const rows: Row[] = [];
    let start = 0;
    for (const size of pieceSizes(items.length, this.#max)) {
      let statement = this.#bySize.get(size);
      if (statement === undefined) {
        statement = new CompiledStatement<readonly unknown[]>(this.#build(size));
        this.#bySize.set(size, statement);
      }
      const piece = items.slice(start, start + size);
      start += size;
      const values = withLeading(leading, this.#values(piece));
      for (const row of await statement.execute<Row>(db, values)) rows.push(row);
    }
    return rows;
  }
}
