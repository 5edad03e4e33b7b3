/**
 * CPU time of one database's PostgreSQL backends, for bench:fanout: the pipeline's cost per device
 * is its own process's CPU plus the server's work for it, and that work runs in the backends serving
 * its connections. Read from /proc/<pid>/stat (utime + stime, clock ticks) of every backend
 * pg_stat_activity lists for the database, sampled every 200 ms so that a backend that exits
 * mid-run (a pool closing an idle connection) still counts up to its last sample. The server's
 * shared processes (WAL writer, checkpointer, autovacuum) are not counted: other work on the same
 * server (other databases) shares them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function ticksOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null; // exited
  }
}

export class BackendCpu {
  readonly #client: pg.Client;
  readonly #database: string;
  /** Last ticks seen per backend. */
  readonly #last = new Map<number, number>();
  #baseline = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;

  private constructor(client: pg.Client, database: string) {
    this.#client = client;
    this.#database = database;
  }

  /** Samples the backends of `databaseUrl`'s database through an admin connection to another one. */
  static async open(databaseUrl: string): Promise<BackendCpu> {
    const database = new URL(databaseUrl).pathname.slice(1);
    const client = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
    await client.connect();
    const cpu = new BackendCpu(client, database);
    cpu.#timer = setInterval(() => void cpu.#sample().catch(() => {}), 200);
    return cpu;
  }

  async #sample(): Promise<void> {
    const { rows } = await this.#client.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = $1 and backend_type = $2',
      [this.#database, 'client backend'],
    );
    for (const { pid } of rows) {
      const ticks = ticksOf(pid);
      if (ticks !== null) this.#last.set(pid, ticks);
    }
  }

  /** Starts a window: backends alive now count from their current ticks, later ones from zero. */
  async begin(): Promise<void> {
    await this.#sample();
    this.#baseline = new Map(this.#last);
  }

  /** CPU seconds of the database's backends since `begin()`. */
  async end(): Promise<number> {
    await this.#sample();
    let ticks = 0;
    for (const [pid, last] of this.#last) ticks += last - (this.#baseline.get(pid) ?? 0);
    return ticks / TICKS_PER_SECOND;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#client.end();
  }
}
