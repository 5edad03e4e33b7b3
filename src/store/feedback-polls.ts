/** When each app's legacy feedback service was last polled, and what that poll found. */
import type { Kysely } from 'kysely';
import type { FeedbackPoll, FeedbackPollStore } from './contract.ts';
import { toDate, toMs } from './rows.ts';
import type { Database } from './schema.ts';

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
