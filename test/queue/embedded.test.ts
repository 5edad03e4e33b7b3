import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedJobQueue } from '../../src/queue/index.ts';
import { CRASH_WORKER, type CreateOptions, runQueueConformance, waitFor } from './conformance.ts';

runQueueConformance('embedded (SQLite)', {
  retryDelayMs: 200,
  async newContext() {
    const dir = mkdtempSync(join(tmpdir(), 'pk-queue-'));
    const path = join(dir, 'queue.sqlite');
    return {
      create: (options?: CreateOptions) =>
        new EmbeddedJobQueue({
          path,
          // Several instances share the file in one test; the crash test relies on leases and on
          // the survivor's reclaim at start.
          reclaimOnStart: true,
          synchronous: 'NORMAL',
          idlePollMs: options?.slowPolling ? 600_000 : 200,
          leaseMs: options?.slowPolling ? 1_800_000 : 30_000,
          ...(options?.now === undefined ? {} : { now: options.now }),
        }),
      childSpec: { kind: 'embedded', path, options: { synchronous: 'NORMAL', reclaimOnStart: false } },
      async dispose() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

describe('EmbeddedJobQueue specifics', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function tempFile(): string {
    const dir = mkdtempSync(join(tmpdir(), 'pk-queue-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'shared.sqlite');
  }

  it('answers PK_ERR_QUEUE_UNAVAILABLE when its file cannot be opened', async () => {
    const queue = new EmbeddedJobQueue({ path: join(tmpdir(), 'no-such-dir-pk', 'x', 'q.sqlite') });
    await expect(queue.start()).rejects.toMatchObject({ code: 'PK_ERR_QUEUE_UNAVAILABLE' });
    await queue.close();
  });

  it('shares a SQLite file with other tables and leaves them alone', async () => {
    const path = tempFile();
    const store = new DatabaseSync(path);
    cleanups.push(() => store.close());
    store.exec('PRAGMA journal_mode = WAL');
    store.exec("CREATE TABLE devices (token TEXT PRIMARY KEY); INSERT INTO devices VALUES ('aa')");
    const queue = new EmbeddedJobQueue({ path });
    cleanups.push(() => queue.close());
    await queue.start();
    await queue.enqueue('shared', { ok: true });
    expect(await queue.depth('shared')).toBe(1);
    expect(store.prepare('SELECT count(*) AS n FROM devices').get()).toEqual({ n: 1 });
    expect(store.prepare('SELECT count(*) AS n FROM queue_jobs').get()).toEqual({ n: 1 });
  });

  it('keeps a job weeks away waiting without overflowing its timer', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    cleanups.push(() => {
      process.off('warning', onWarning);
    });
    const queue = new EmbeddedJobQueue({ path: tempFile() });
    cleanups.push(() => queue.close());
    await queue.start();
    let worked = 0;
    await queue.work('later', {}, async () => {
      worked += 1;
    });
    const id = await queue.enqueue('later', {}, { startAfterMs: 40 * 86_400_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(warnings).not.toContain('TimeoutOverflowWarning');
    expect(worked).toBe(0);
    expect((await queue.getJob('later', id))?.state).toBe('created');
  });

  it('takes over a dead instance’s job once its lease lapses, without a restart reclaim', async () => {
    const path = tempFile();
    const options = { leaseMs: 300, idlePollMs: 50, reclaimOnStart: false, synchronous: 'NORMAL' } as const;
    const producer = new EmbeddedJobQueue({ path, ...options });
    cleanups.push(() => producer.close());
    await producer.start();
    const id = await producer.enqueue('leased', { n: 1 });
    const child = spawn(
      process.execPath,
      [CRASH_WORKER, JSON.stringify({ kind: 'embedded', path, name: 'leased', options })],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await waitFor(() => output.includes(`started ${id}`), 30_000);
    // The child renews its lease while alive: still active after several lease lengths.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await producer.getJob('leased', id))?.state).toBe('active');
    child.kill('SIGKILL');
    await exited;
    const seen: string[] = [];
    await producer.work('leased', {}, async (jobs) => {
      seen.push(...jobs.map((job) => job.id));
    });
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual([id]);
  });
  /**
   * Another connection of this process holds the write lock across an await (the store does,
   * between the statements of a transaction). The queue must wait without blocking the event loop,
   * or the holder could never commit: enqueue, claim and settle all go through once it lets go.
   */
  it('waits for a write lock held by another connection of this process without blocking it', async () => {
    const path = tempFile();
    const other = new DatabaseSync(path);
    cleanups.push(() => other.close());
    other.exec('PRAGMA journal_mode = WAL');
    other.exec('CREATE TABLE held (n INTEGER)');
    const queue = new EmbeddedJobQueue({ path, synchronous: 'NORMAL', busyTimeoutMs: 20_000 });
    cleanups.push(() => queue.close());
    await queue.start();
    const ran: string[] = [];
    await queue.work<{ n: number }>('locked', {}, async (jobs) => {
      // The job's settle will find the lock taken: hold it again while this handler returns.
      if (jobs.some((job) => job.data.n === 1)) holdFor(other, 50);
      ran.push(...jobs.map((job) => String(job.data.n)));
    });
    // The lock is taken when enqueue starts; a timer releases it, which only fires if enqueue awaits.
    holdFor(other, 50);
    const first = await queue.enqueue('locked', { n: 1 });
    await waitFor(async () => (await queue.getJob('locked', first))?.state === 'completed');
    // A claim that finds the lock taken claims again once it is free: the enqueue commits at once
    // (its first attempt runs in the call), and the lock is taken before the worker's claim.
    const enqueued = queue.enqueue('locked', { n: 2 });
    holdFor(other, 50);
    const second = await enqueued;
    await waitFor(async () => (await queue.getJob('locked', second))?.state === 'completed');
    expect(ran).toEqual(['1', '2']);
    expect(other.prepare('SELECT count(*) AS n FROM held').get()).toEqual({ n: 3 });
  });

  it('tells a handler whether its job was handed out before, crashes included', async () => {
    const path = tempFile();
    const options = { path, synchronous: 'NORMAL', reclaimOnStart: true } as const;
    const first = new EmbeddedJobQueue(options);
    await first.start();
    const id = await first.enqueue('deliveries', {});
    const seen: (boolean | undefined)[] = [];
    let stuck: () => void = () => {};
    await first.work('deliveries', {}, async (jobs) => {
      seen.push(...jobs.map((job) => job.firstDelivery));
      // Never settles, like a process that dies mid-job.
      await new Promise<void>((resolve) => {
        stuck = resolve;
      });
    });
    await waitFor(() => seen.length === 1);
    await first.stop({ graceful: false });
    stuck();
    await first.close();
    // A restart reclaims the job without spending a retry: retryCount stays 0, but it was handed out.
    const second = new EmbeddedJobQueue(options);
    cleanups.push(() => second.close());
    await second.start();
    const retries: number[] = [];
    await second.work('deliveries', {}, async (jobs) => {
      seen.push(...jobs.map((job) => job.firstDelivery));
      retries.push(...jobs.map((job) => job.retryCount));
    });
    await waitFor(async () => (await second.getJob('deliveries', id))?.state === 'completed');
    expect(seen).toEqual([true, false]);
    expect(retries).toEqual([0]);
  });
});

/** Takes the write lock on `db` with an INSERT in an open transaction, and commits after `ms`. */
function holdFor(db: DatabaseSync, ms: number): void {
  db.exec('BEGIN IMMEDIATE');
  db.exec('INSERT INTO held VALUES (1)');
  setTimeout(() => db.exec('COMMIT'), ms);
}
