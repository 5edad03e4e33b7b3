/**
 * Recurring schedules for the cluster queue. pg-boss's own schedule() is cron with minute
 * resolution; ours need sub-minute intervals and "once per interval across processes", so each
 * schedule is a claim row: the process whose UPDATE advances `next_run_at` past now owns that
 * interval and inserts the job in the same transaction. A concurrent UPDATE waits on the row lock
 * and then no longer matches `next_run_at <= now` (PostgreSQL re-checks the WHERE clause on the
 * updated row under READ COMMITTED), so it claims nothing.
 */

/** A schema name we interpolate into SQL; validated so it cannot carry anything else. */
export function assertSchemaName(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,49}$/.test(schema)) {
    throw new TypeError('The queue schema must be a lower-case identifier (a-z, 0-9, _)');
  }
}

export function createScheduleTableSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${schema}.pushkeeper_schedules (
    name        text PRIMARY KEY,
    interval_ms bigint NOT NULL,
    data        jsonb,
    next_run_at bigint NOT NULL
  )`;
}

/** $1 name, $2 interval, $3 data, $4 now. Same interval keeps the cadence; a new one restarts it. */
export function upsertScheduleSql(schema: string): string {
  return `INSERT INTO ${schema}.pushkeeper_schedules (name, interval_ms, data, next_run_at)
    VALUES ($1, $2, $3::jsonb, $4)
    ON CONFLICT (name) DO UPDATE SET
      data = excluded.data,
      next_run_at = CASE WHEN pushkeeper_schedules.interval_ms = excluded.interval_ms
        THEN pushkeeper_schedules.next_run_at ELSE excluded.next_run_at END,
      interval_ms = excluded.interval_ms`;
}

export function deleteScheduleSql(schema: string): string {
  return `DELETE FROM ${schema}.pushkeeper_schedules WHERE name = $1`;
}

/**
 * $1 now. Missed intervals collapse into one run and the cadence stays on its grid. Both operands
 * are non-negative bigints, so integer division is a floor.
 */
export function claimDueSchedulesSql(schema: string): string {
  return `UPDATE ${schema}.pushkeeper_schedules
    SET next_run_at = next_run_at + (($1::bigint - next_run_at) / interval_ms + 1) * interval_ms
    WHERE next_run_at <= $1::bigint
    RETURNING name, data`;
}

export function nextScheduleSql(schema: string): string {
  return `SELECT min(next_run_at)::text AS at FROM ${schema}.pushkeeper_schedules`;
}
