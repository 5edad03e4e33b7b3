/** When each app's legacy feedback service was last polled, and what that poll found. */
import type { Kysely } from 'kysely';
import { appExists } from './app-exists.ts';
import type { FeedbackPoll, FeedbackPollStore } from './contract.ts';
import { toDate, toMs } from './rows.ts';
import type { Database } from './schema.ts';

/** Claims are kept this long behind the slot being claimed; the longest poll interval is 168 h. */
const CLAIM_RETENTION_MS = 30 * 24 * 3_600_000;

export class SqlFeedbackPollStore implements FeedbackPollStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(appId: string): Promise<FeedbackPoll | null> {
    const row = await this.#db
      .selectFrom('feedback_polls')
      .selectAll()
      .where('app_id', '=', appId)
      .executeTakeFirst();
    return row
      ? {
          appId: row.app_id,
          lastPollAt: toDate(row.last_poll_at),
          summary: JSON.parse(row.summary) as Record<string, unknown>,
        }
      : null;
  }

  async claim(appId: string, slotStart: Date, now: Date = new Date()): Promise<boolean> {
    const slot = toMs(slotStart);
    // The primary key (app_id, slot_start) decides: one INSERT succeeds, every other does nothing.
    if (!(await appExists(this.#db, appId))) return false;
    const inserted = await this.#db
      .insertInto('feedback_poll_claims')
      .values({ app_id: appId, slot_start: slot, claimed_at: toMs(now) })
      .onConflict((conflict) => conflict.columns(['app_id', 'slot_start']).doNothing())
      .executeTakeFirst();
    const won = Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
    if (won) {
      await this.#db
        .deleteFrom('feedback_poll_claims')
        .where('app_id', '=', appId)
        .where('slot_start', '<', slot - CLAIM_RETENTION_MS)
        .execute();
    }
    return won;
  }

  async record(appId: string, at: Date, summary: Readonly<Record<string, unknown>>): Promise<void> {
    await this.#db
      .insertInto('feedback_polls')
      .values({ app_id: appId, last_poll_at: toMs(at), summary: JSON.stringify(summary) })
      .onConflict((conflict) =>
        conflict.column('app_id').doUpdateSet((eb) => ({
          last_poll_at: eb.ref('excluded.last_poll_at'),
          summary: eb.ref('excluded.summary'),
        })),
      )
      .execute();
  }
}
