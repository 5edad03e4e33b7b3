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
});
