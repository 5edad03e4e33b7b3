/**
 * Notifications, their counts and per-device outcomes. The (notification, token) primary key of
 * notification_outcomes makes recording idempotent: after a crash the pipeline re-sends what has no
 * outcome yet and re-records whatever it likes; counts only move for rows actually inserted.
 */
import { createHash } from 'node:crypto';
import { type Kysely, type Selectable, type SelectQueryBuilder, sql } from 'kysely';
import { type Audience, type DeviceToken, fail, ok, problem, type Result } from '../domain/index.ts';
import { appExists, appNotFound } from './app-exists.ts';
import { CompiledStatement } from './compiled-statement.ts';
import type { StoreCapabilities } from './connection.ts';
import type {
  BatchCheckpoint,
  BatchCommit,
  CancelResult,
  CreateNotificationInput,
  CreateNotificationResult,
  Notification,
  NotificationStatus,
  NotificationStore,
  Outcome,
  OutcomeInput,
  OutcomeKind,
  Page,
  PageRequest,
} from './contract.ts';
import { FINAL_NOTIFICATION_STATUSES } from './contract.ts';
import { type CursorSealer, parseLimit } from './cursor.ts';
import { COUNT_SHARDS, commitBatchInOneStatement, encodeRemaining, readBatchCheckpoint } from './batch-checkpoints.ts';
import { markDevicesSucceeded } from './device-success.ts';
import { paddedSize } from './sized-statements.ts';
import { newId } from './ids.ts';
import { chunks, toDate, toDateOrNull, toMs } from './rows.ts';
import type { Database, NotificationsTable } from './schema.ts';

type NotificationQuery = SelectQueryBuilder<Database, 'notifications', Selectable<NotificationsTable>>;

const OUTCOME_KINDS: readonly OutcomeKind[] = ['accepted', 'rejected', 'failed', 'invalidated'];
const MAX_IDEMPOTENCY_KEY = 255;
/** Rows per outcome INSERT (4 bound values each, plus 2). */
const MAX_OUTCOME_ROWS = 512;
/** Tokens per outcome look-up. */
const MAX_LOOKUP_TOKENS = 1024;

/** The sums of a notification's count shards (migration 0004). */
interface ShardCounts {
  readonly accepted: number;
  readonly rejected: number;
  readonly failed: number;
  readonly invalidated: number;
}

const NO_SHARD_COUNTS: ShardCounts = { accepted: 0, rejected: 0, failed: 0, invalidated: 0 };


function toNotification(
  row: Selectable<NotificationsTable>,
  shards: ShardCounts = NO_SHARD_COUNTS,
): Notification {
  const targeted = Number(row.targeted);
  const accepted = Number(row.accepted) + shards.accepted;
  const rejected = Number(row.rejected) + shards.rejected;
  const invalidated = Number(row.invalidated) + shards.invalidated;
  const failed = Number(row.failed) + shards.failed;
  return {
    id: row.id,
    appId: row.app_id,
    audience: JSON.parse(row.audience) as Audience,
    payload: row.payload,
    options: JSON.parse(row.options) as Record<string, unknown>,
    status: row.status as NotificationStatus,
    counts: {
      targeted,
      accepted,
      rejected,
      invalidated,
      failed,
      pending: Math.max(0, targeted - accepted - rejected - invalidated - failed),
    },
    idempotencyKey: row.idempotency_key,
    failureReason: row.failure_reason,
    fanoutCursor: row.fanout_cursor,
    fanoutComplete: Number(row.fanout_complete) === 1,
    createdAt: toDate(row.created_at),
    startedAt: toDateOrNull(row.started_at),
    completedAt: toDateOrNull(row.completed_at),
  };
}

function defaultRequestHash(input: CreateNotificationInput): string {
  return createHash('sha256')
    .update(JSON.stringify([input.audience, input.payload, input.options]))
    .digest('hex');
}

function page<T>(rows: readonly T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, nextCursor: more ? cursorOf(items.at(-1)!) : null };
}

/**
 * The outcomes grouped by kind, first outcome per token winning (within a call as across calls, by
 * the table's key), so that each statement's inserted rows are the count of its kind.
 */
function outcomesByKind(outcomes: readonly OutcomeInput[]): Map<OutcomeKind, OutcomeInput[]> {
  const seen = new Set<string>();
  const byKind = new Map<OutcomeKind, OutcomeInput[]>();
  for (const outcome of outcomes) {
    if (!OUTCOME_KINDS.includes(outcome.outcome)) throw new RangeError(`Unknown outcome ${String(outcome.outcome)}`);
    if (seen.has(outcome.token)) continue;
    seen.add(outcome.token);
    const list = byKind.get(outcome.outcome);
    if (list === undefined) byKind.set(outcome.outcome, [outcome]);
    else list.push(outcome);
  }
  return byKind;
}

/** Notifications looked up per purge query, and outcome rows deleted per transaction. */
const PURGE_NOTIFICATIONS = 100;
const PURGE_OUTCOMES = 10_000;

export class SqlNotificationStore implements NotificationStore {
  readonly #db: Kysely<Database>;
  readonly #outcomeInserts = new Map<number, CompiledStatement<readonly unknown[]>>();
  readonly #tokenLookups = new Map<number, CompiledStatement<readonly unknown[]>>();
  /**
   * [app id, id]. Where the database has row locks, the notification row is locked FOR KEY SHARE
   * until the outcomes' transaction ends: what the foreign key used to do for every outcome row
   * (migration 0005), once per call. Deleting the app waits for it (apps.delete).
   */
  readonly #owned: CompiledStatement<readonly [string, string]>;
  /** Adds to one count shard; [id, shard, accepted, rejected, failed, invalidated]. */
  readonly #addCounts = new CompiledStatement<readonly unknown[]>((db, slot) =>
    db
      .insertInto('notification_counts')
      .values({
        notification_id: slot(0),
        shard: slot(1),
        accepted: slot(2),
        rejected: slot(3),
        failed: slot(4),
        invalidated: slot(5),
      })
      .onConflict((conflict) =>
        conflict.columns(['notification_id', 'shard']).doUpdateSet((eb) => ({
          accepted: eb('notification_counts.accepted', '+', eb.ref('excluded.accepted')),
          rejected: eb('notification_counts.rejected', '+', eb.ref('excluded.rejected')),
          failed: eb('notification_counts.failed', '+', eb.ref('excluded.failed')),
          invalidated: eb('notification_counts.invalidated', '+', eb.ref('excluded.invalidated')),
        })),
      ),
  );

  readonly #rowLocks: boolean;
  readonly #writableCte: boolean;
  readonly #cursors: CursorSealer;

  constructor(
    db: Kysely<Database>,
    capabilities: Pick<StoreCapabilities, 'rowLocks' | 'writableCte'>,
    cursors: CursorSealer,
  ) {
    this.#cursors = cursors;
    this.#db = db;
    this.#rowLocks = capabilities.rowLocks;
    this.#writableCte = capabilities.writableCte;
    this.#owned = new CompiledStatement((db, slot) => {
      const owned = db
        .selectFrom('notifications')
        .select('id')
        .where('app_id', '=', slot(0))
        .where('id', '=', slot(1));
      return capabilities.rowLocks ? owned.forKeyShare() : owned;
    });
  }

  async create(
    appId: string,
    input: CreateNotificationInput,
    at: Date = new Date(),
  ): Promise<Result<CreateNotificationResult>> {
    const key = input.idempotencyKey ?? null;
    if (key !== null && (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY)) {
      return fail(
        problem(
          'PK_ERR_VALIDATION',
          `An Idempotency-Key is 1-${MAX_IDEMPOTENCY_KEY} characters.`,
          'idempotency-key',
        ),
      );
    }
    if (typeof input.payload !== 'string') {
      return fail(problem('PK_ERR_PAYLOAD_INVALID', 'The payload must be serialised text.', 'not-text'));
    }
    const requestHash = input.requestHash ?? defaultRequestHash(input);
    return this.#db.transaction().execute(async (trx) => {
      if (!(await appExists(trx, appId))) return appNotFound();
      // ON CONFLICT DO NOTHING on (app, key): of two concurrent requests with one key, exactly one
      // inserts; the other reads the winner below.
      const inserted = await trx
        .insertInto('notifications')
        .values({
          id: input.id ?? newId('ntf', at),
          app_id: appId,
          audience: JSON.stringify(input.audience),
          payload: input.payload,
          options: JSON.stringify(input.options),
          status: 'queued',
          targeted: 0,
          accepted: 0,
          rejected: 0,
          invalidated: 0,
          failed: 0,
          idempotency_key: key,
          request_hash: requestHash,
          failure_reason: null,
          fanout_cursor: null,
          fanout_complete: 0,
          created_at: toMs(at),
          started_at: null,
          completed_at: null,
        })
        .onConflict((conflict) => conflict.columns(['app_id', 'idempotency_key']).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) return ok({ notification: toNotification(inserted), created: true });
      const existing = await trx
        .selectFrom('notifications')
        .selectAll()
        .where('app_id', '=', appId)
        .where('idempotency_key', '=', key)
        .executeTakeFirst();
      if (!existing) {
        return fail(problem('PK_ERR_CONFLICT', 'A notification with this id exists.', 'notification-exists'));
      }
      if (existing.request_hash !== requestHash) {
        return fail(
          problem(
            'PK_ERR_IDEMPOTENCY_CONFLICT',
            'This Idempotency-Key was used with a different request.',
            'different-request',
            {
              notificationId: existing.id,
            },
          ),
        );
      }
      const [withCounts] = await this.#withShardCounts(trx, [existing]);
      return ok({ notification: withCounts!, created: false });
    });
  }

  async get(appId: string, id: string): Promise<Notification | null> {
    const row = await this.#db
      .selectFrom('notifications')
      .selectAll()
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return null;
    const [notification] = await this.#withShardCounts(this.#db, [row]);
    return notification!;
  }

  /** The rows as notifications, with their count shards added in one query. */
  async #withShardCounts(
    db: Kysely<Database>,
    rows: readonly Selectable<NotificationsTable>[],
  ): Promise<Notification[]> {
    if (rows.length === 0) return [];
    const sums = await db
      .selectFrom('notification_counts')
      .select((eb) => [
        'notification_id',
        eb.fn.sum<number | string>('accepted').as('accepted'),
        eb.fn.sum<number | string>('rejected').as('rejected'),
        eb.fn.sum<number | string>('failed').as('failed'),
        eb.fn.sum<number | string>('invalidated').as('invalidated'),
      ])
      .where(
        'notification_id',
        'in',
        rows.map((row) => row.id),
      )
      .groupBy('notification_id')
      .execute();
    const byId = new Map<string, ShardCounts>();
    for (const sum of sums) {
      byId.set(sum.notification_id, {
        accepted: Number(sum.accepted),
        rejected: Number(sum.rejected),
        failed: Number(sum.failed),
        invalidated: Number(sum.invalidated),
      });
    }
    return rows.map((row) => toNotification(row, byId.get(row.id)));
  }

  async list(appId: string, request: PageRequest = {}): Promise<Result<Page<Notification>>> {
    // Newest first: a person (or `pushkeeper notifications list`) looks for the latest pushes.
    return this.#pageByCreation(
      'notifications',
      appId,
      request,
      (query) => query.where('app_id', '=', appId),
      'desc',
    );
  }

  /**
   * Keyset pages in creation order (oldest first unless `order` is desc) over the rows `filter`
   * keeps; `kind` tags the opaque cursor.
   */
  async #pageByCreation(
    kind: string,
    scope: string,
    request: PageRequest,
    filter: (query: NotificationQuery) => NotificationQuery,
    order: 'asc' | 'desc' = 'asc',
  ): Promise<Result<Page<Notification>>> {
    const limit = parseLimit(request.limit);
    if (!limit.ok) return limit;
    const cursor = this.#cursors.open(kind, scope, request.cursor, { t: 'int', i: 'string' });
    if (!cursor.ok) return cursor;
    let query = filter(this.#db.selectFrom('notifications').selectAll());
    if (cursor.value !== null) {
      const { t, i } = cursor.value;
      const after = order === 'asc' ? '>' : '<';
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), after, eb.tuple(Number(t), String(i))));
    }
    const rows = await query
      .orderBy('created_at', order)
      .orderBy('id', order)
      .limit(limit.value + 1)
      .execute();
    const result = page(rows, limit.value, (last) =>
      this.#cursors.seal(kind, scope, { t: last.created_at, i: last.id }),
    );
    return ok({ items: await this.#withShardCounts(this.#db, result.items), nextCursor: result.nextCursor });
  }

  async transition(
    appId: string,
    id: string,
    from: readonly NotificationStatus[],
    to: NotificationStatus,
    options: { readonly at?: Date; readonly failureReason?: string } = {},
  ): Promise<boolean> {
    if (from.length === 0) return false;
    const atMs = toMs(options.at ?? new Date());
    const result = await this.#db
      .updateTable('notifications')
      .set((eb) => ({
        status: to,
        ...(to === 'sending' ? { started_at: eb.fn.coalesce('started_at', eb.val(atMs)) } : {}),
        ...(FINAL_NOTIFICATION_STATUSES.includes(to) ? { completed_at: atMs } : {}),
        ...(options.failureReason !== undefined ? { failure_reason: options.failureReason } : {}),
      }))
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async cancel(appId: string, id: string, at: Date = new Date()): Promise<CancelResult> {
    if (await this.transition(appId, id, ['queued', 'sending'], 'cancelled', { at })) return 'cancelled';
    return (await this.get(appId, id)) ? 'already-final' : 'not-found';
  }

  async checkpointFanout(
    appId: string,
    id: string,
    checkpoint: {
      readonly cursor: string | null;
      readonly targetedDelta: number;
      readonly complete: boolean;
    },
  ): Promise<void> {
    await this.#db
      .updateTable('notifications')
      .set((eb) => ({
        fanout_cursor: checkpoint.cursor,
        targeted: eb('targeted', '+', checkpoint.targetedDelta),
        ...(checkpoint.complete ? { fanout_complete: 1 } : {}),
      }))
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .execute();
  }

  async recordOutcomes(
    appId: string,
    id: string,
    outcomes: readonly OutcomeInput[],
    options: { readonly successAt?: Date } = {},
  ): Promise<number> {
    if (outcomes.length === 0) return 0;
    const byKind = outcomesByKind(outcomes);
    return this.#db.transaction().execute(async (trx) => {
      // Another app's (or no) notification: nothing is written.
      if ((await this.#owned.execute(trx, [appId, id])).length === 0) return 0;
      const added = await this.#insertOutcomeRows(trx, id, byKind);
      if (options.successAt !== undefined) {
        const accepted = byKind.get('accepted');
        if (accepted !== undefined) {
          await markDevicesSucceeded(
            trx,
            appId,
            accepted.map((outcome) => outcome.token),
            toMs(options.successAt),
          );
        }
      }
      await this.#addToCounts(trx, id, added);
      return added.accepted + added.rejected + added.failed + added.invalidated;
    });
  }

  async batchCheckpoint(appId: string, id: string, batch: string): Promise<BatchCheckpoint> {
    return readBatchCheckpoint(this.#db, appId, id, batch);
  }

  async commitBatch(appId: string, id: string, commit: BatchCommit): Promise<boolean> {
    if (this.#writableCte) return commitBatchInOneStatement(this.#db, appId, id, commit);
    // The same steps as the one statement (batch-checkpoints.ts), in one transaction.
    const atMs = toMs(commit.successAt);
    return this.#db.transaction().execute(async (trx) => {
      if ((await this.#owned.execute(trx, [appId, id])).length === 0) return false;
      const applied = await trx
        .insertInto('notification_batches')
        .values({
          notification_id: id,
          batch: commit.batch,
          commits: commit.after + 1,
          remaining: encodeRemaining(commit.remaining),
          committed_at: atMs,
        })
        .onConflict((conflict) =>
          conflict
            .columns(['notification_id', 'batch'])
            .doUpdateSet((eb) => ({
              commits: eb.ref('excluded.commits'),
              remaining: eb.ref('excluded.remaining'),
              committed_at: eb.ref('excluded.committed_at'),
            }))
            .where('notification_batches.commits', '=', commit.after),
        )
        .returning('commits')
        .executeTakeFirst();
      if (applied === undefined) return false;
      await this.#insertOutcomeRows(trx, id, outcomesByKind(commit.outcomes));
      if (commit.succeeded.length > 0) {
        await markDevicesSucceeded(trx, appId, commit.succeeded, atMs, atMs - commit.successMaxAgeMs);
      }
      await this.#addToCounts(trx, id, commit.counts);
      return true;
    });
  }

  /** Inserts the outcome rows, one statement per kind and size; answers how many of each were new. */
  async #insertOutcomeRows(
    trx: Kysely<Database>,
    id: string,
    byKind: ReadonlyMap<OutcomeKind, readonly OutcomeInput[]>,
  ): Promise<Record<OutcomeKind, number>> {
    const now = Date.now();
    const added: Record<OutcomeKind, number> = { accepted: 0, rejected: 0, failed: 0, invalidated: 0 };
    for (const [kind, list] of byKind) {
      for (const part of chunks(list, MAX_OUTCOME_ROWS)) {
        const size = paddedSize(part.length);
        const values: unknown[] = [id, kind];
        for (let i = 0; i < size; i += 1) {
          // Padding repeats the last row: ON CONFLICT DO NOTHING inserts it once.
          const outcome = part[Math.min(i, part.length - 1)]!;
          values.push(outcome.token, outcome.reason ?? null, outcome.apnsId ?? null, outcome.at ? toMs(outcome.at) : now);
        }
        added[kind] += (await this.#insertOutcomes(size).execute(trx, values)).length;
      }
    }
    return added;
  }

  async #addToCounts(trx: Kysely<Database>, id: string, counts: Readonly<Record<OutcomeKind, number>>): Promise<void> {
    if (counts.accepted + counts.rejected + counts.failed + counts.invalidated === 0) return;
    await this.#addCounts.execute(trx, [
      id,
      Math.floor(Math.random() * COUNT_SHARDS),
      counts.accepted,
      counts.rejected,
      counts.failed,
      counts.invalidated,
    ]);
  }

  /** INSERT of `size` outcome rows of one kind; slots: [notification id, kind, then 4 per row]. */
  #insertOutcomes(size: number): CompiledStatement<readonly unknown[]> {
    let statement = this.#outcomeInserts.get(size);
    if (statement === undefined) {
      statement = new CompiledStatement<readonly unknown[]>((db, slot) =>
        db
          .insertInto('notification_outcomes')
          .values(
            Array.from({ length: size }, (_, row) => ({
              notification_id: slot(0),
              outcome: slot(1),
              token: slot(2 + row * 4),
              reason: slot(3 + row * 4),
              apns_id: slot(4 + row * 4),
              at: slot(5 + row * 4),
            })),
          )
          .onConflict((conflict) => conflict.columns(['notification_id', 'token']).doNothing())
          // One row back per row inserted: the count, without reading what was written.
          .returning(sql<number>`1`.as('n')),
      );
      this.#outcomeInserts.set(size, statement);
    }
    return statement;
  }

  async recordedTokens(
    appId: string,
    id: string,
    tokens: readonly DeviceToken[],
  ): Promise<ReadonlySet<DeviceToken>> {
    const found = new Set<DeviceToken>();
    for (const part of chunks([...new Set(tokens)], MAX_LOOKUP_TOKENS)) {
      const size = paddedSize(part.length);
      const values: unknown[] = [appId, id];
      for (let i = 0; i < size; i += 1) values.push(part[Math.min(i, part.length - 1)]);
      const rows = await this.#lookupTokens(size).execute<{ token: string }>(this.#db, values);
      for (const row of rows) found.add(row.token as DeviceToken);
    }
    return found;
  }

  /** Which of `size` tokens have an outcome; slots: [app id, notification id, then the tokens]. */
  #lookupTokens(size: number): CompiledStatement<readonly unknown[]> {
    let statement = this.#tokenLookups.get(size);
    if (statement === undefined) {
      statement = new CompiledStatement<readonly unknown[]>((db, slot) =>
        db
          .selectFrom('notification_outcomes as o')
          .innerJoin('notifications as n', 'n.id', 'o.notification_id')
          .select('o.token')
          .where('n.app_id', '=', slot(0))
          .where('o.notification_id', '=', slot(1))
          .where(
            'o.token',
            'in',
            Array.from({ length: size }, (_, i) => slot(2 + i)),
          ),
      );
      this.#tokenLookups.set(size, statement);
    }
    return statement;
  }

  async listFailures(appId: string, id: string, request: PageRequest = {}): Promise<Result<Page<Outcome>>> {
    const limit = parseLimit(request.limit);
    if (!limit.ok) return limit;
    // A failures cursor belongs to one notification of one app.
    const scope = `${appId}/${id}`;
    const cursor = this.#cursors.open('failures', scope, request.cursor, { i: 'string' });
    if (!cursor.ok) return cursor;
    let query = this.#db
      .selectFrom('notification_outcomes as o')
      .innerJoin('notifications as n', 'n.id', 'o.notification_id')
      .select(['o.token', 'o.outcome', 'o.reason', 'o.apns_id', 'o.at'])
      .where('n.app_id', '=', appId)
      .where('o.notification_id', '=', id)
      .where('o.outcome', '!=', 'accepted');
    if (cursor.value !== null) query = query.where('o.token', '>', String(cursor.value.i));
    const rows = await query
      .orderBy('o.token')
      .limit(limit.value + 1)
      .execute();
    const result = page(rows, limit.value, (last) =>
      this.#cursors.seal('failures', scope, { i: last.token }),
    );
    return ok({
      items: result.items.map((row) => ({
        token: row.token as DeviceToken,
        outcome: row.outcome as OutcomeKind,
        reason: row.reason,
        apnsId: row.apns_id,
        at: toDate(row.at),
      })),
      nextCursor: result.nextCursor,
    });
  }

  async purge(before: Date): Promise<number> {
    const beforeMs = toMs(before);
    let purged = 0;
    for (;;) {
      // Final ones only: a notification still sending has jobs that would record into it.
      const batch = await this.#db
        .selectFrom('notifications')
        .select('id')
        .where('status', 'in', FINAL_NOTIFICATION_STATUSES)
        // created_at first: the (status, created_at, id) index finds them; completion follows creation.
        .where('created_at', '<', beforeMs)
        .where('completed_at', '<', beforeMs)
        .orderBy('created_at')
        .limit(PURGE_NOTIFICATIONS)
        .execute();
      for (const { id } of batch) {
        await this.#deleteOutcomes(id);
        await this.#db.transaction().execute(async (trx) => {
          // A late chunk (recording holds the row FOR KEY SHARE) commits before this lock is
          // granted; its rows are then deleted below, and one that comes later finds no notification.
          const row = trx.selectFrom('notifications').select('id').where('id', '=', id);
          if (this.#rowLocks) await row.forUpdate().execute();
          await trx.deleteFrom('notification_outcomes').where('notification_id', '=', id).execute();
          await trx.deleteFrom('notifications').where('id', '=', id).execute();
        });
      }
      purged += batch.length;
      if (batch.length < PURGE_NOTIFICATIONS) return purged;
    }
  }

  /**
   * A notification's outcomes, PURGE_OUTCOMES rows per transaction, walking the (notification,
   * token) key: each chunk starts after the last one's highest token, so no statement scans the
   * entries an earlier one deleted (PostgreSQL keeps them in the index until vacuum).
   */
  async #deleteOutcomes(id: string): Promise<void> {
    let after = '';
    for (;;) {
      const chunk = this.#db
        .selectFrom('notification_outcomes')
        .select('token')
        .where('notification_id', '=', id)
        .where('token', '>', after)
        .orderBy('token')
        .limit(PURGE_OUTCOMES);
      const bound = await this.#db
        .selectFrom(chunk.as('chunk'))
        .select((eb) => eb.fn.max('chunk.token').as('last'))
        .executeTakeFirst();
      const last = bound?.last;
      if (last === null || last === undefined) return;
      await this.#db
        .deleteFrom('notification_outcomes')
        .where('notification_id', '=', id)
        .where('token', '>', after)
        .where('token', '<=', last)
        .execute();
      after = last;
    }
  }

  async listResumable(request: PageRequest = {}): Promise<Result<Page<Notification>>> {
    return this.#pageByCreation('resumable', '', request, (query) =>
      query.where('status', 'in', ['queued', 'sending']),
    );
  }
}
