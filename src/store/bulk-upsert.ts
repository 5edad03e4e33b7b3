/**
 * The bulk upsert behind `import`: many devices per statement, statements compiled once
 * per shape and size (sized-statements.ts).
 *
 * The rule is the register call's (device-registration.ts): absent fields keep stored values on a
 * refresh and take the defaults on creation; every row refreshes last_registered_at, counts the
 * registration and clears invalid_since. The store conformance suite holds both paths to it.
 */
import type { Kysely } from 'kysely';
import { chunks, tokenBytes, tokenHex } from './rows.ts';
import type { Database } from './schema.ts';
import { SizedStatements } from './sized-statements.ts';

/** A validated device (devices.ts `ParsedDeviceInput`): a field is present only if given. */
export interface UpsertFields {
  readonly token: string;
  readonly environment?: string;
  readonly alias?: string | null;
  readonly tags?: readonly string[];
  readonly locale?: string | null;
}

const ENVIRONMENT = 1;
const ALIAS = 2;
const TAGS = 4;
const LOCALE = 8;

/** Slots per device row: token, environment, alias, tags JSON, locale (after the app key and time). */
const ROW_SLOTS = 5;
/** Bind parameters per device row once compiled: the app key and the time repeat in every row. */
const ROW_PARAMS = 8;
/** Tag rows per INSERT (3 values each). */
const TAG_ROWS_PER_STATEMENT = 2000;
const NO_TAGS = '[]';

function shapeOf(row: UpsertFields): number {
  return (
    (row.environment !== undefined ? ENVIRONMENT : 0) |
    (row.alias !== undefined ? ALIAS : 0) |
    (row.tags !== undefined ? TAGS : 0) |
    (row.locale !== undefined ? LOCALE : 0)
  );
}

/** The largest device id of any app (SQLite reads it from the end of the table's B-tree). */
async function largestId(trx: Kysely<Database>): Promise<number> {
  const row = await trx
    .selectFrom('devices')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirst();
  return Number(row?.id ?? 0);
}

/** The statements of one store (one database: the SQL text is its dialect's). */
export class BulkUpsert {
  readonly #maxBindParameters: number;
  readonly #serialWriters: boolean;
  /** By shape, and whether the rows are returned (see `upsert`). */
  readonly #statementsBy = new Map<string, SizedStatements<UpsertFields>>();

  /**
   * As many rows per statement as the database's bind-parameter limit allows (SQLite: 4,095):
   * each statement is prepared once, so its size costs nothing per call. `serialWriters`: one
   * write transaction at a time (SQLite's BEGIN IMMEDIATE), see `upsert`.
   */
  constructor(options: { readonly maxBindParameters: number; readonly serialWriters: boolean }) {
    this.#maxBindParameters = options.maxBindParameters;
    this.#serialWriters = options.serialWriters;
  }

  /**
   * Upserts `rows` (unique, parsed tokens, in token order) into the app whose key (app-keys.ts) is
   * `appKey`, in the caller's transaction; answers how many were created. In token order,
   * consecutive rows land on neighbouring pages of the (app, token) index instead of a random page
   * each: fewer pages dirtied per transaction. Rows are grouped by which fields they carry, so each group is one statement shape.
   *
   * Which rows were created: a tagged row needs its id anyway (for its tag rows), so its statement
   * returns id, token and `registrations` (1 = created). Untagged rows, where writers are serial,
   * return nothing: every device this transaction creates gets an id above the largest id before
   * it, so one count over the (app, id) index afterwards answers for all of them. Returning a row
   * per device cost ~10% of an import's time in SQLite. With concurrent writers (PostgreSQL) other
   * transactions allocate ids too, so every row is returned.
   */
  async upsert(
    trx: Kysely<Database>,
    appKey: number,
    rows: readonly UpsertFields[],
    at: number,
  ): Promise<{ created: number }> {
    const groups = new Map<number, UpsertFields[]>();
    for (const row of rows) {
      const shape = shapeOf(row);
      const group = groups.get(shape);
      if (group) group.push(row);
      else groups.set(shape, [row]);
    }
    const counting = this.#serialWriters && ![...groups.keys()].some((shape) => shape & TAGS);
    const idsBelow = counting ? await largestId(trx) : 0;
    let created = 0;
    const withTags: { id: number; tags: readonly string[]; isNew: boolean }[] = [];
    for (const [shape, group] of groups) {
      // A group keeps the rows' token order.
      const returned = await this.#statements(shape, !counting).execute<{
        id?: number;
        token?: Uint8Array;
        registrations: number;
      }>(trx, group, [appKey, at]);
      const tagsOf = shape & TAGS ? new Map(group.map((row) => [row.token, row.tags ?? []])) : null;
      for (const row of returned) {
        const isNew = Number(row.registrations) === 1;
        if (isNew) created += 1;
        if (tagsOf !== null) {
          withTags.push({ id: Number(row.id), tags: tagsOf.get(tokenHex(row.token!)) ?? [], isNew });
        }
      }
    }
    if (counting) {
      const row = await trx
        .selectFrom('devices')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('app_key', '=', appKey)
        .where('id', '>', idsBelow)
        .executeTakeFirstOrThrow();
      created = Number(row.n);
    }

    if (withTags.length > 0) {
      const replaced = withTags.filter((row) => !row.isNew).map((row) => row.id);
      for (const part of chunks(replaced, 1000)) {
        await trx.deleteFrom('device_tags').where('device_id', 'in', part).execute();
      }
      const tagRows = withTags.flatMap((row) =>
        row.tags.map((tag) => ({ app_key: appKey, tag, device_id: row.id })),
      );
      for (const part of chunks(tagRows, TAG_ROWS_PER_STATEMENT)) {
        await trx.insertInto('device_tags').values(part).execute();
      }
    }
    return { created };
  }

  #statements(shape: number, returning: boolean): SizedStatements<UpsertFields> {
    const key = `${shape}${returning ? 'r' : ''}`;
    let statements = this.#statementsBy.get(key);
    if (statements === undefined) {
      statements = new SizedStatements<UpsertFields>({
        max: Math.floor(this.#maxBindParameters / ROW_PARAMS),
        values: (rows) => {
          // Sized up front: 20,000 values pushed one by one grow (and copy) the array a dozen times.
          const values = new Array<unknown>(rows.length * ROW_SLOTS);
          let at = 0;
          for (const row of rows) {
            // Parsed tokens (devices.ts): always hex of whole bytes.
            values[at++] = tokenBytes(row.token);
            values[at++] = row.environment ?? 'production';
            values[at++] = row.alias ?? null;
            values[at++] = row.tags === undefined ? NO_TAGS : JSON.stringify(row.tags);
            values[at++] = row.locale ?? null;
          }
          return values;
        },
        build: (size) => (db, slot) => {
          const upsert = db
            .insertInto('devices')
            .values(
              Array.from({ length: size }, (_, i) => ({
                app_key: slot(0),
                token: slot(2 + i * ROW_SLOTS),
                environment: slot(3 + i * ROW_SLOTS),
                alias: slot(4 + i * ROW_SLOTS),
                tags: slot(5 + i * ROW_SLOTS),
                locale: slot(6 + i * ROW_SLOTS),
                created_at: slot(1),
                last_registered_at: slot(1),
              })),
            )
            .onConflict((conflict) =>
              conflict.columns(['app_key', 'token']).doUpdateSet((eb) => ({
                last_registered_at: eb.ref('excluded.last_registered_at'),
                registrations: eb('devices.registrations', '+', 1),
                invalid_since: null,
                invalid_reason: null,
                ...(shape & ENVIRONMENT ? { environment: eb.ref('excluded.environment') } : {}),
                ...(shape & ALIAS ? { alias: eb.ref('excluded.alias') } : {}),
                ...(shape & TAGS ? { tags: eb.ref('excluded.tags') } : {}),
                ...(shape & LOCALE ? { locale: eb.ref('excluded.locale') } : {}),
              })),
            );
          if (!returning) return upsert;
          // Only a tagged row needs its id (for its tag rows); every row says whether it is new.
          return upsert.returning(shape & TAGS ? ['id', 'token', 'registrations'] : ['registrations']);
        },
      });
      this.#statementsBy.set(key, statements);
    }
    return statements;
  }
}
