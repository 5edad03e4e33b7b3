/**
 * A Kysely query built and compiled once, then run again and again with new values.
 *
 * Building and compiling a query costs more than SQLite takes to run a point insert (measured on
 * the registration route: query building was a third of the store's time per request). A hot
 * statement of fixed shape is therefore built once per database with numbered placeholders
 * (`slot(0)`, `slot(1)`, …) where its values go; each call substitutes the values into the compiled
 * parameter list and hands the same SQL text to the driver, whose statement cache (SQLite) or
 * protocol (PostgreSQL) then skips preparing it again. Constants the builder turned into parameters
 * keep their value.
 */
import { type Compilable, CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Leads the SQL text of a statement the PostgreSQL pool prepares once per connection (a named
 * statement, open-postgres.ts): a hot statement of fixed text skips parsing and planning on every
 * run after the first. A comment, so every other database runs the text as it is.
 */
export const PREPARE_MARKER = '/*pk:prepare*/';

/** A placeholder: an object Kysely passes through as an opaque parameter value. */
interface Slot {
  readonly slot: number;
}

/** Where each compiled parameter comes from: a value index (≥ 0) or a constant (`~index` into constants). */
interface Compiled {
  readonly sql: string;
  readonly sources: readonly number[];
  readonly constants: readonly unknown[];
}

type Builder = (db: Kysely<Database>, slot: (index: number) => never) => Compilable;

export class CompiledStatement<Values extends readonly unknown[]> {
  readonly #build: Builder;
  readonly #prepare: boolean;
  /** Compiled on first use: the SQL text depends on the database's dialect. */
  #compiled: Compiled | undefined;

  /**
   * `build` receives `slot(i)`, to be used wherever `values[i]` goes (a value may be used twice).
   * One instance serves one database: it keeps the SQL of the dialect it was first run on.
   * `prepare`: a statement run per page or per batch, worth a prepared statement (PREPARE_MARKER).
   */
  constructor(build: Builder, options: { readonly prepare?: boolean } = {}) {
    this.#build = build;
    this.#prepare = options.prepare ?? false;
  }

  /** Runs the statement on `db` (a transaction or the database) with `values` in the slots. */
  execute<Row>(db: Kysely<Database>, values: Values): Promise<readonly Row[]> {
    this.#compiled ??= this.#compile(db);
    const compiled = this.#compiled;
    const parameters = new Array<unknown>(compiled.sources.length);
    for (let i = 0; i < parameters.length; i += 1) {
      const source = compiled.sources[i]!;
      parameters[i] = source >= 0 ? values[source] : compiled.constants[~source];
    }
    return db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters)).then((result) => result.rows);
  }

  #compile(db: Kysely<Database>): Compiled {
    const slots: Slot[] = [];
    const slot = (index: number): never => {
      slots[index] ??= { slot: index };
      return slots[index] as never;
    };
    const query = this.#build(db, slot).compile();
    const constants: unknown[] = [];
    const sources = query.parameters.map((parameter) => {
      // O(1) per parameter: bulk statements carry tens of thousands of slots.
      const index = (parameter as Partial<Slot> | null)?.slot;
      if (typeof index === 'number' && slots[index] === parameter) return index;
      constants.push(parameter);
      return ~(constants.length - 1);
    });
    return { sql: this.#prepare ? `${PREPARE_MARKER} ${query.sql}` : query.sql, sources, constants };
  }
}
