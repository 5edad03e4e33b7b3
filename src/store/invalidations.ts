/**
 * The invalidation rule, in one place: an APNs report that a token is invalid removes
 * the device only if the device last registered *before* the moment APNs says the token went bad.
 * A device that registered again since then is a reinstall or a restored token: it is kept, and
 * the stale report is recorded. Apple: "the timestamp … indicates when APNs confirmed the token was
 * no longer valid for the topic" — "stop sending notifications to that token" unless "the device
 * token … was registered again after that time" (Handling notification responses from APNs).
 *
 * Policy: a removed device is deleted (docs/api.md, "Invalidations"), and an `invalidations` row with
 * outcome `removed` is written in the same transaction; that row is what the app backend syncs.
 */
import type { Kysely } from 'kysely';
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
import { type CursorSealer, parseLimit } from './cursor.ts';
import { appKeyOf } from './app-keys.ts';
import { toDate, toMs, tokenBytes } from './rows.ts';
import type { Database } from './schema.ts';
import type { StoreCapabilities } from './connection.ts';
import { SizedStatements } from './sized-statements.ts';
import { sortedTokens } from './token-order.ts';

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
 * the devices table and its indexes; each commit writes every page it dirtied to the WAL (and the
 * checkpoint after it writes them again), so one transaction for a whole feedback poll (100,000
 * tuples) writes each page once instead of once per batch (docs/store.md has the measurements).
 */
const DEFAULT_BATCH = 100_000;
const MAX_BATCH = 100_000;
/** Calls with more reports than this run with the bulk-write page cache. */
const BULK_CACHE_FROM = 1000;
/** Tokens or ids per statement: far below every bind-parameter limit, cheap to prepare. */
const LOOKUP_CHUNK = 4096;
/** Invalidation records per INSERT: 7 parameters each (app id and time repeat), 28,672 in all. */
const RECORD_CHUNK = 4096;

interface DeviceRef {
  readonly id: number;
  /** Lower-case hex, made by the database (a buffer per row would cost more than the string). */
  readonly token: string;
  readonly last_registered_at: number;
}

interface RecordRow {
  readonly token: string;
  readonly reason: string;
  readonly source: string;
  readonly outcome: 'removed' | 'stale';
  readonly reportedAt: number;
}

/**
 * The batch's statements, each compiled once per piece size (sized-statements.ts): a feedback poll
 * runs them over 100,000 reports, and need not build them with Kysely every time nor prepare a new
 * SQL text for every list length. One set per store: the SQL text is its database's.
 */
class BatchStatements {
  /** [appId, ...tokens] → the devices among them (locked when the database has row locks). */
  readonly lookup: SizedStatements<Uint8Array>;
  /** [appId, ...tokens] → the tokens among them whose removal was recorded. */
  readonly recorded: SizedStatements<string>;
  /** [appId, ...ids] */
  readonly remove: SizedStatements<number>;
  /** [appId, removedAt, ...records] */
  readonly record: SizedStatements<RecordRow>;

  constructor(rowLocks: boolean, bytesAsHex: StoreCapabilities['bytesAsHex']) {
    const tokens = (items: readonly string[]) => items;
    this.lookup = new SizedStatements({
      max: LOOKUP_CHUNK,
      values: (items: readonly Uint8Array[]) => items,
      build: (size) => (db, slot) => {
        const select = db
          .selectFrom('devices')
          .select(['id', bytesAsHex('token').as('token'), 'last_registered_at'])
          .where('app_key', '=', appKeyOf(db, slot(0)))
          .where('token', 'in', slots(slot, 1, size));
        // Lock the rows we decide on: a registration committing between this read and the delete
        // below waits for us, then finds the device gone and creates it anew — never a refreshed
        // device deleted. (SQLite needs none: BEGIN IMMEDIATE serialises writers.)
        return rowLocks ? select.forUpdate() : select;
      },
    });
    this.recorded = new SizedStatements({
      max: LOOKUP_CHUNK,
      values: tokens,
      build: (size) => (db, slot) =>
        db
          .selectFrom('invalidations')
          .select('token')
          .where('app_id', '=', slot(0))
          .where('outcome', '=', 'removed')
          .where('token', 'in', slots(slot, 1, size)),
    });
    this.remove = new SizedStatements({
      max: LOOKUP_CHUNK,
      values: (ids: readonly number[]) => ids,
      build: (size) => (db, slot) =>
        db
          .deleteFrom('devices')
          .where('app_key', '=', appKeyOf(db, slot(0)))
          .where('id', 'in', slots(slot, 1, size)),
    });
    this.record = new SizedStatements({
      max: RECORD_CHUNK,
      values: (records: readonly RecordRow[]) => {
        const values: unknown[] = [];
        for (const r of records) values.push(r.token, r.reason, r.source, r.outcome, r.reportedAt);
        return values;
      },
      build: (size) => (db, slot) =>
        db
          .insertInto('invalidations')
          .values(
            Array.from({ length: size }, (_, i) => ({
              app_id: slot(0),
              removed_at: slot(1),
              token: slot(2 + i * 5),
              reason: slot(3 + i * 5),
              source: slot(4 + i * 5),
              outcome: slot(5 + i * 5),
              reported_at: slot(6 + i * 5),
            })),
          )
          .onConflict((conflict) =>
            conflict.columns(['app_id', 'token', 'outcome', 'reported_at']).doNothing(),
          ),
    });
  }
}

/** `count` consecutive slots from `first`. */
function slots(slot: (index: number) => never, first: number, count: number): never[] {
  return Array.from({ length: count }, (_, i) => slot(first + i));
}

/** Applies the rule to one batch in one transaction; the batch must not repeat a token. */
async function applyBatch(
  trx: Kysely<Database>,
  statements: BatchStatements,
  appId: string,
  batch: readonly Report[],
  now: number,
): Promise<InvalidationOutcome[]> {
  // Every statement below walks its index in key order: sorted tokens land on neighbouring pages
  // of the (app, token) index, sorted ids on neighbouring table pages. (The default sort compares
  // strings natively, without a comparator call per pair; token-order.ts buckets large batches first.)
  const reportOf = new Map<string, Report>();
  for (const report of batch) reportOf.set(report.token, report);
  const tokens = sortedTokens([...reportOf.keys()]);
  // devices holds the tokens' bytes; a token that is not hex matches no device (tokenBytes).
  const lookups: Uint8Array[] = [];
  for (const token of tokens) {
    const bytes = tokenBytes(token);
    if (bytes !== null) lookups.push(bytes);
  }
  const devices = new Map<string, { id: number; lastRegisteredAt: number }>();
  for (const row of await statements.lookup.execute<DeviceRef>(trx, lookups, [appId])) {
    devices.set(row.token, {
      id: Number(row.id),
      lastRegisteredAt: Number(row.last_registered_at),
    });
  }
  const missing = tokens.filter((token) => !devices.has(token));
  const recorded = new Set<string>();
  if (missing.length > 0) {
    for (const row of await statements.recorded.execute<{ token: string }>(trx, missing, [appId])) {
      recorded.add(row.token);
    }
  }

  const outcomeOf = new Map<string, InvalidationOutcome>();
  const ids = new Float64Array(devices.size);
  let removals = 0;
  const records: RecordRow[] = [];
  for (const token of tokens) {
    const report = reportOf.get(token)!;
    const device = devices.get(token) ?? null;
    const outcome = decideInvalidation(device, toMs(report.at), recorded.has(token));
    outcomeOf.set(token, outcome);
    if (outcome !== 'removed' && outcome !== 'kept-reregistered') continue;
    if (outcome === 'removed') ids[removals++] = device!.id;
    records.push({
      token,
      reason: report.reason,
      source: report.source,
      outcome: outcome === 'removed' ? 'removed' : 'stale',
      reportedAt: toMs(report.at),
    });
  }
  await statements.remove.execute(trx, Array.from(ids.subarray(0, removals).sort()), [appId]);
  await statements.record.execute(trx, records, [appId, now]);
  return batch.map((report) => outcomeOf.get(report.token)!);
}

export class SqlInvalidationStore implements InvalidationStore {
  readonly #db: Kysely<Database>;
  readonly #statements: BatchStatements;
  readonly #capabilities: Pick<StoreCapabilities, 'withBulkWriteCache'>;
  readonly #cursors: CursorSealer;

  constructor(
    db: Kysely<Database>,
    capabilities: Pick<StoreCapabilities, 'rowLocks' | 'withBulkWriteCache' | 'bytesAsHex'>,
    cursors: CursorSealer,
  ) {
    this.#cursors = cursors;
    this.#db = db;
    this.#statements = new BatchStatements(capabilities.rowLocks, capabilities.bytesAsHex);
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
      .execute((trx) => applyBatch(trx, this.#statements, appId, [{ token, ...report }], toMs(now)));
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
          .execute((trx) => applyBatch(trx, this.#statements, appId, current, now));
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
    const cursor = this.#cursors.open('invalidations', appId, query.cursor, { i: 'int' });
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
      nextCursor: more ? this.#cursors.seal('invalidations', appId, { i: Number(items.at(-1)!.id) }) : null,
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
