/**
 * Send-batch checkpoints (migration 0009): reading what earlier runs of a batch committed, and on
 * PostgreSQL the whole commit of a run as one statement.
 *
 * One statement because every part of the commit hangs on one fact — "the checkpoint still says
 * what this run read" — and data-modifying WITH (PostgreSQL's "WITH Queries", §7.8.4) lets the
 * outcome rows, the count shard and the last_success_at marks depend on the checkpoint's upsert
 * having returned a row, in one round trip and one plan. SQLite has no data-modifying WITH; there
 * the same steps run as one transaction (notifications.ts), which is one commit all the same.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { DeviceToken, Environment } from '../domain/index.ts';
import type { BatchCheckpoint, BatchCommit, BatchDevice } from './contract.ts';
import { PREPARE_MARKER } from './compiled-statement.ts';
import type { Database } from './schema.ts';
import { toMs } from './rows.ts';

/** Shard rows per notification (notifications.ts): a commit adds to one at random. */
export const COUNT_SHARDS = 16;

export function encodeRemaining(devices: readonly BatchDevice[]): string | null {
  if (devices.length === 0) return null;
  return JSON.stringify(devices.map((device) => [device.token, device.environment === 'sandbox' ? 's' : 'p']));
}

function decodeRemaining(text: string | null): BatchDevice[] {
  if (text === null) return [];
  return (JSON.parse(text) as [string, string][]).map(([token, letter]) => ({
    token: token as DeviceToken,
    environment: (letter === 's' ? 'sandbox' : 'production') as Environment,
  }));
}

export async function readBatchCheckpoint(
  db: Kysely<Database>,
  appId: string,
  id: string,
  batch: string,
): Promise<BatchCheckpoint> {
  const row = await db
    .selectFrom('notification_batches as b')
    .innerJoin('notifications as n', 'n.id', 'b.notification_id')
    .select(['b.commits', 'b.remaining'])
    .where('n.app_id', '=', appId)
    .where('b.notification_id', '=', id)
    .where('b.batch', '=', batch)
    .executeTakeFirst();
  if (row === undefined) return { commits: 0, remaining: [] };
  return { commits: Number(row.commits), remaining: decodeRemaining(row.remaining) };
}

/**
 * The commit as one statement. `owned` holds the notification FOR KEY SHARE until the statement
 * ends (what a foreign key would do per outcome row; deleting the app or purging waits for it), and
 * yields nothing for another app's notification, so nothing below writes. `batch` inserts the
 * checkpoint, or moves it on only from the `commits` this run read (ON CONFLICT … WHERE); everything
 * after it writes only if it returned its row.
 */
const COMMIT_SQL = `${PREPARE_MARKER}
with owned as (
  select id from notifications where app_id = $1 and id = $2 for key share
), batch as (
  insert into notification_batches as b (notification_id, batch, commits, remaining, committed_at)
  select id, $3, $4::integer + 1, $5, $6 from owned
  on conflict (notification_id, batch) do update
    set commits = excluded.commits, remaining = excluded.remaining, committed_at = excluded.committed_at
    where b.commits = $4::integer
  returning 1 as applied
), outcome_rows as (
  insert into notification_outcomes (notification_id, token, outcome, reason, apns_id, at)
  select $2, o.token, o.outcome, o.reason, o.apns_id, o.at
  from unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[]) as o(token, outcome, reason, apns_id, at)
  where exists (select 1 from batch)
  on conflict (notification_id, token) do nothing
), counts as (
  insert into notification_counts as c (notification_id, shard, accepted, rejected, failed, invalidated)
  select $2, $12, $13, $14, $15, $16 from batch
  on conflict (notification_id, shard) do update set
    accepted = c.accepted + excluded.accepted,
    rejected = c.rejected + excluded.rejected,
    failed = c.failed + excluded.failed,
    invalidated = c.invalidated + excluded.invalidated
), success as (
  update devices set last_success_at = $6
  where app_key = (select key from app_keys where app_id = $1)
    and token = any (select decode(t, 'hex') from unnest($17::text[]) as t)
    and (last_success_at is null or last_success_at < $18)
    and exists (select 1 from batch)
)
select count(*)::integer as applied from batch`;

export async function commitBatchInOneStatement(
  db: Kysely<Database>,
  appId: string,
  id: string,
  commit: BatchCommit,
): Promise<boolean> {
  const at = toMs(commit.successAt);
  const { outcomes, counts } = commit;
  const tokens = new Array<string>(outcomes.length);
  const kinds = new Array<string>(outcomes.length);
  const reasons = new Array<string | null>(outcomes.length);
  const apnsIds = new Array<string | null>(outcomes.length);
  const times = new Array<number>(outcomes.length);
  outcomes.forEach((outcome, index) => {
    tokens[index] = outcome.token;
    kinds[index] = outcome.outcome;
    reasons[index] = outcome.reason ?? null;
    apnsIds[index] = outcome.apnsId ?? null;
    times[index] = outcome.at ? toMs(outcome.at) : at;
  });
  const result = await db.executeQuery<{ applied: number }>(
    CompiledQuery.raw(COMMIT_SQL, [
      appId,
      id,
      commit.batch,
      commit.after,
      encodeRemaining(commit.remaining),
      at,
      tokens,
      kinds,
      reasons,
      apnsIds,
      times,
      Math.floor(Math.random() * COUNT_SHARDS),
      counts.accepted,
      counts.rejected,
      counts.failed,
      counts.invalidated,
      commit.succeeded,
      at - commit.successMaxAgeMs,
    ]),
  );
  return Number(result.rows[0]?.applied ?? 0) > 0;
}
