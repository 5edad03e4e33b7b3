/**
 * Group commit: calls that arrive during one event-loop turn run one after another inside one
 * transaction, exactly as separate transactions would in arrival order, and each caller is
 * answered only after the COMMIT (a 2xx still means durable). One fsync and one write lock for a
 * burst instead of one per call — what bounds SQLite's registration rate.
 *
 * A failure `isStatementError` accepts (e.g. a constraint violation: SQLite undoes the statement and
 * the transaction goes on) fails only its own call. Any other failure (BEGIN, COMMIT, I/O) may
 * have ended the transaction, so the whole group is rolled back and every call of it fails.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

interface Pending<C, R> {
  readonly call: C;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class GroupCommit<C, R> {
  readonly #db: Kysely<Database>;
  readonly #maxGroup: number;
  readonly #run: (trx: Kysely<Database>, call: C) => Promise<R>;
  readonly #isStatementError: (error: unknown) => boolean;
  readonly #pending: Pending<C, R>[] = [];

  constructor(options: {
    readonly db: Kysely<Database>;
    /** Calls per transaction: bounds how long the first caller of a burst waits. */
    readonly maxGroup: number;
    readonly run: (trx: Kysely<Database>, call: C) => Promise<R>;
    readonly isStatementError: (error: unknown) => boolean;
  }) {
    this.#db = options.db;
    this.#maxGroup = options.maxGroup;
    this.#run = options.run;
    this.#isStatementError = options.isStatementError;
  }

  submit(call: C): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ call, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => void this.#commit());
    });
  }

  async #commit(): Promise<void> {
    const group = this.#pending.splice(0, this.#maxGroup);
    if (this.#pending.length > 0) setImmediate(() => void this.#commit());
    const outcomes: ({ ok: true; value: R } | { ok: false; error: unknown })[] = [];
    try {
      await this.#db.transaction().execute(async (trx) => {
        for (const { call } of group) {
          try {
            outcomes.push({ ok: true, value: await this.#run(trx, call) });
          } catch (error) {
            if (!this.#isStatementError(error)) throw error;
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const pending of group) pending.reject(error);
      return;
    }
    for (const [index, pending] of group.entries()) {
      const outcome = outcomes[index]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    }
  }
}
