/**
 * The embedded queue's tables. They may live in the store's SQLite file (own names, own connection);
 * `CREATE ... IF NOT EXISTS` makes start() idempotent. Times are epoch milliseconds.
 *
 * A claim is fenced by (`locked_by`, `claim_count`): a worker settles only the attempt it claimed,
 * so a late completion after its lease lapsed and another instance re-claimed the job is a no-op.
 */
export const EMBEDDED_QUEUE_SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_jobs (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  data           TEXT NOT NULL,
  state          TEXT NOT NULL,
  priority       INTEGER NOT NULL,
  retry_limit    INTEGER NOT NULL,
  retry_count    INTEGER NOT NULL DEFAULT 0,
  retry_delay_ms INTEGER NOT NULL,
  retry_backoff  INTEGER NOT NULL,
  start_after    INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  started_at     INTEGER,
  finished_at    INTEGER,
  locked_by      TEXT,
  lease_until    INTEGER,
  claim_count    INTEGER NOT NULL DEFAULT 0,
  last_error     TEXT
);
CREATE INDEX IF NOT EXISTS queue_jobs_waiting
  ON queue_jobs (name, priority DESC, start_after) WHERE state IN ('created', 'retry');
CREATE INDEX IF NOT EXISTS queue_jobs_active
  ON queue_jobs (lease_until) WHERE state = 'active';
CREATE INDEX IF NOT EXISTS queue_jobs_finished
  ON queue_jobs (finished_at) WHERE state IN ('completed', 'failed', 'cancelled');
CREATE TABLE IF NOT EXISTS queue_schedules (
  name        TEXT PRIMARY KEY,
  interval_ms INTEGER NOT NULL,
  data        TEXT NOT NULL,
  next_run_at INTEGER NOT NULL
);
`;
