/**
 * The invalidation rule, in one place (issue 5): an APNs report that a token is invalid removes
 * the device only if the device last registered *before* the moment APNs says the token went bad.
 * A device that registered again since then is a reinstall or a restored token: it is kept, and
 * the stale report is recorded. Apple: "the timestamp … indicates when APNs confirmed the token was
 * no longer valid for the topic" — "stop sending notifications to that token" unless "the device
 * token … was registered again after that time" (Handling notification responses from APNs).
 *
 * Policy: a removed device is deleted (PRODUCT.md: "removed"), and an `invalidations` row with
 * outcome `removed` is written in the same transaction; that row is what the app backend syncs.
 */
import type { Insertable, Kysely } from 'kysely';
import { type DeviceToken, ok, type Result } from '../domain/index.ts';
import type {
  Invalidation,
  InvalidateManyOptions,
  InvalidationBatchCounts,
  InvalidationOutcome,
  InvalidationReport,
  InvalidationSource,
  InvalidationStore,
  Page,
  PageRequest,
} from './contract.ts';
import { decodeCursor, encodeCursor, parseLimit } from './cursor.ts';
import { chunks, toDate, toMs } from './rows.ts';
import type { Database, InvalidationsTable } from './schema.ts';
import type { StoreCapabilities } from './connection.ts';

type Report = { readonly token: DeviceToken } & InvalidationReport;

/** The rule itself, pure: what to do with one report given what the registry holds. */
export function decideInvalidation(
  device: { readonly lastRegisteredAt: number } | null,
  reportedAt: number,
  removalAlreadyRecorded: boolean,
): InvalidationOutcome {
  if (device === null) return removalAlreadyRecorded ? 'already-removed' : 'not-found';
  return device.lastRegisteredAt < reportedAt ? 'removed' : 'kept-reregistered';
}

/**
 * Reports per transaction. Deleting 10% of an app's devices at random touches nearly every page of
 * the devices table and its indexes; each commit writes the pages it dirtied to the WAL, so fewer,
 * larger transactions write each page fewer times (measured in docs/store.md).
 */
const DEFAULT_BATCH = 50_000;
const MAX_BATCH = 100_000;
/** Calls with more reports than this run with the bulk-write page cache. */
const BULK_CACHE_FROM = 1000;
/** Tokens or ids per statement: far below every bind-parameter limit, cheap to prepare. */
const LOOKUP_CHUNK = 5000;

/** Applies the rule to one batch in one transaction; the batch must not repeat a token. */
async function applyBatch(
  trx: Kysely<Database>,
  rowLocks: boolean,
  appId: string,
  batch: readonly Report[],
  now: number,
): Promise<InvalidationOutcome[]> {
  // Sorted, so consecutive statements walk neighbouring index pages.
  const tokens = batch.map((report) => report.token as string).sort();
  const devices = new Map<string, { id: number; lastRegisteredAt: number }>();
  for (const part of chunks(tokens, LOOKUP_CHUNK)) {
    let select = trx
      .selectFrom('devices')
      .select(['id', 'token', 'last_registered_at'])
      .where('app_id', '=', appId)
      .where('token', 'in', part);
    // Lock the rows we decide on: a registration committing between this read and the delete below
    // waits for us, then finds the device gone and creates it anew — never a refreshed device deleted.
    if (rowLocks) select = select.forUpdate();
    for (const row of await select.execute()) {
      devices.set(row.token, { id: Number(row.id), lastRegisteredAt: Number(row.last_registered_at) });
    }
  }
  const missing = tokens.filter((token) => !devices.has(token));
  const recorded = new Set<string>();
  for (const part of chunks(missing, LOOKUP_CHUNK)) {
    for (const row of await trx
      .selectFrom('invalidations')
      .select('token')
      .where('app_id', '=', appId)
      .where('outcome', '=', 'removed')
      .where('token', 'in', part)
      .execute()) {
      recorded.add(row.token);
    }
  }

  const outcomes = batch.map((report) =>
    decideInvalidation(devices.get(report.token) ?? null, toMs(report.at), recorded.has(report.token)),
  );
  const toRemove = batch.filter((_, index) => outcomes[index] === 'removed');

  const ids = toRemove.map((report) => devices.get(report.token)!.id).sort((x, y) => x - y);
  for (const part of chunks(ids, LOOKUP_CHUNK)) {
    await trx.deleteFrom('devices').where('app_id', '=', appId).where('id', 'in', part).execute();
  }

  const records: Insertable<InvalidationsTable>[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome !== 'removed' && outcome !== 'kept-reregistered') continue;
    const report = batch[index]!;
    records.push({
      app_id: appId,
      token: report.token,
      reason: report.reason,
      source: report.source,
      outcome: outcome === 'removed' ? 'removed' : 'stale',
      reported_at: toMs(report.at),
      removed_at: now,
    });
  }
  for (const part of chunks(records, 1000)) {
    await trx
      .insertInto('invalidations')
      .values(part)
      .onConflict((conflict) => conflict.columns(['app_id', 'token', 'outcome', 'reported_at']).doNothing())
      .execute();
  }
  return outcomes;
}

export class SqlInvalidationStore implements InvalidationStore {
  readonly #db: Kysely<Database>;
  readonly #rowLocks: boolean;
  readonly #capabilities: Pick<StoreCapabilities, 'withBulkWriteCache'>;

  constructor(
    db: Kysely<Database>,
    capabilities: Pick<StoreCapabilities, 'rowLocks' | 'withBulkWriteCache'>,
  ) {
    this.#db = db;
    this.#rowLocks = capabilities.rowLocks;
    this.#capabilities = capabilities;
  }

  async invalidate(
    appId: string,
    token: DeviceToken,
    report: InvalidationReport,
    now: Date = new Date(),
  ): Promise<InvalidationOutcome> {
    const [outcome] = await this.#db
      .transaction()
      .execute((trx) => applyBatch(trx, this.#rowLocks, appId, [{ token, ...report }], toMs(now)));
    return outcome!;
  }

  async invalidateMany(
    appId: string,
    reports: Iterable<Report> | AsyncIterable<Report>,
    options: InvalidateManyOptions = {},
  ): Promise<InvalidationBatchCounts> {
    const batchSize = Math.max(1, Math.min(options.batchSize ?? DEFAULT_BATCH, MAX_BATCH));
    const counts = { removed: 0, keptReregistered: 0, alreadyRemoved: 0, notFound: 0 };
    const apply = async (items: readonly Report[]) => {
      // A token repeated within a batch waits for the next pass, exactly as sequential calls would.
      let pending = items;
      while (pending.length > 0) {
        const seen = new Set<string>();
        const current: Report[] = [];
        const later: Report[] = [];
        for (const report of pending) {
          if (seen.has(report.token)) later.push(report);
          else {
            seen.add(report.token);
            current.push(report);
          }
        }
        const now = toMs(options.now ?? new Date());
        const outcomes = await this.#db
          .transaction()
          .execute((trx) => applyBatch(trx, this.#rowLocks, appId, current, now));
        for (const [index, outcome] of outcomes.entries()) {
          options.onOutcome?.(current[index]!, outcome);
          if (outcome === 'removed') counts.removed += 1;
          else if (outcome === 'kept-reregistered') counts.keptReregistered += 1;
          else if (outcome === 'already-removed') counts.alreadyRemoved += 1;
          else counts.notFound += 1;
        }
        pending = later;
      }
    };
    const iterator =
      Symbol.asyncIterator in reports ? reports[Symbol.asyncIterator]() : reports[Symbol.iterator]();
    let buffer: Report[] = [];
    /** Fills the buffer up to a batch; false once the input is exhausted. */
    const fill = async (): Promise<boolean> => {
      while (buffer.length < batchSize) {
        const next = await iterator.next();
        if (next.done) return false;
        buffer.push(next.value);
      }
      return true;
    };
    const drain = async (more: boolean): Promise<void> => {
      for (;;) {
        await apply(buffer);
        buffer = [];
        if (!more) return;
        more = await fill();
      }
    };
    const more = await fill();
    // A few reports (a 410 here and there) need no extra cache; a feedback poll's thousands do.
    if (more || buffer.length >= BULK_CACHE_FROM) {
      await this.#capabilities.withBulkWriteCache(this.#db, () => drain(more));
    } else await drain(more);
    return counts;
  }

  async list(
    appId: string,
    query: PageRequest & { readonly since?: Date | null } = {},
  ): Promise<Result<Page<Invalidation>>> {
    const limit = parseLimit(query.limit);
    if (!limit.ok) return limit;
    const cursor = decodeCursor('invalidations', query.cursor, { i: 'int' });
    if (!cursor.ok) return cursor;
    let select = this.#db
      .selectFrom('invalidations')
      .select(['id', 'token', 'reason', 'source', 'reported_at', 'removed_at'])
      .where('app_id', '=', appId)
      .where('outcome', '=', 'removed')
      .where('id', '>', cursor.value === null ? 0 : Number(cursor.value.i));
    if (query.since) select = select.where('removed_at', '>=', toMs(query.since));
    const rows = await select
      .orderBy('id')
      .limit(limit.value + 1)
      .execute();
    const more = rows.length > limit.value;
    const items = more ? rows.slice(0, limit.value) : rows;
    return ok({
      items: items.map((row) => ({
        id: String(row.id),
        token: row.token as DeviceToken,
        reason: row.reason,
        source: row.source as InvalidationSource,
        apnsTimestamp: toDate(row.reported_at),
        removedAt: toDate(row.removed_at),
      })),
      nextCursor: more ? encodeCursor('invalidations', { i: Number(items.at(-1)!.id) }) : null,
    });
  }

  async purge(before: Date): Promise<number> {
    const result = await this.#db
      .deleteFrom('invalidations')
      .where('removed_at', '<', toMs(before))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
