/**
 * The JobQueue conformance suite. embedded.test.ts and pgboss.test.ts run it against real storage
 * (a SQLite file, a fresh PostgreSQL database); a crashed worker is a real child process killed
 * with SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job, JobQueue } from '../../src/queue/index.ts';
import { PermanentJobError } from '../../src/queue/index.ts';

export interface CreateOptions {
  /** Clock for schedule claims. */
  readonly now?: () => number;
  /** Make the fallback poll so slow that only a wake-up can explain a prompt pick-up. */
  readonly slowPolling?: boolean;
}

/** One test's storage: every queue created from it shares the same file or database. */
export interface QueueContext {
  create(options?: CreateOptions): JobQueue;
  /** JSON handed to fixtures/crash-worker.ts so the child opens the same storage. */
  readonly childSpec: Record<string, unknown>;
  dispose(): Promise<void>;
}

export interface QueueHarness {
  newContext(): Promise<QueueContext>;
  /** Smallest retry delay the implementation honours (pg-boss counts whole seconds). */
  readonly retryDelayMs: number;
}

export const CRASH_WORKER = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function runQueueConformance(label: string, harness: QueueHarness): void {
  describe(`JobQueue conformance: ${label}`, () => {
    const cleanups: (() => Promise<void>)[] = [];

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function context(): Promise<QueueContext> {
      const ctx = await harness.newContext();
      cleanups.push(() => ctx.dispose());
      return ctx;
    }

    async function started(ctx: QueueContext, options?: CreateOptions): Promise<JobQueue> {
      const queue = ctx.create(options);
      cleanups.push(() => queue.close());
      await queue.start();
      return queue;
    }

    it('works enqueued jobs with their data and records them completed', async () => {
      const queue = await started(await context());
      const name = uniqueName('basic');
      const seen: Job<{ n: number }>[] = [];
      await queue.work<{ n: number }>(name, {}, async (jobs) => {
        seen.push(...jobs);
      });
      const ids = [
        await queue.enqueue(name, { n: 1 }),
        await queue.enqueue(name, { n: 2 }),
        await queue.enqueue(name, { n: 3 }),
      ];
      await waitFor(() => seen.length === 3);
      expect(seen.map((job) => job.data.n).sort()).toEqual([1, 2, 3]);
      expect(seen.map((job) => job.id).sort()).toEqual([...ids].sort());
      expect(
        seen.every((job) => job.name === name && job.retryCount === 0 && job.firstDelivery === true),
      ).toBe(true);
      await waitFor(async () => (await queue.getJob(name, ids[2]!))?.state === 'completed');
      const info = await queue.getJob<{ n: number }>(name, ids[0]!);
      expect(info).toMatchObject({ id: ids[0], name, data: { n: 1 } });
      expect(await queue.depth(name)).toBe(0);
    });

    it('an enqueue with an existing id inserts nothing', async () => {
      const queue = await started(await context());
      const name = uniqueName('idem');
      const id = randomUUID();
      expect(await queue.enqueue(name, { first: true }, { id })).toBe(id);
      expect(await queue.enqueue(name, { first: false }, { id })).toBe(id);
      expect(await queue.depth(name)).toBe(1);
      expect((await queue.getJob(name, id))?.data).toEqual({ first: true });
      expect(await queue.getJob(name, randomUUID())).toBeNull();
      expect(await queue.getJob(name, 'not-a-uuid')).toBeNull();
      await queue.cancel(name, 'not-a-uuid');
    });

    it('carries any JSON value as job data', async () => {
      const queue = await started(await context());
      const name = uniqueName('json');
      const values: unknown[] = ['text', 42, null, [1, 'two'], { nested: { ok: true } }];
      const ids: string[] = [];
      for (const value of values) ids.push(await queue.enqueue(name, value));
      for (const [index, id] of ids.entries()) {
        expect((await queue.getJob(name, id))?.data).toEqual(values[index]);
      }
      const seen: unknown[] = [];
      await queue.work(name, { batchSize: 10 }, async (jobs) => {
        seen.push(...jobs.map((job) => job.data));
      });
      await waitFor(() => seen.length === values.length);
      expect(seen).toEqual(expect.arrayContaining(values));
    });

    it('runs higher priority first among due jobs', async () => {
      const queue = await started(await context());
      const name = uniqueName('priority');
      await queue.enqueue(name, 'low', { priority: 0 });
      await queue.enqueue(name, 'high', { priority: 10 });
      await queue.enqueue(name, 'middle', { priority: 5 });
      const order: unknown[] = [];
      await queue.work(name, {}, async (jobs) => {
        order.push(jobs[0]!.data);
      });
      await waitFor(() => order.length === 3);
      expect(order).toEqual(['high', 'middle', 'low']);
    });

    it('rejects with PK_ERR_QUEUE_UNAVAILABLE once closed', async () => {
      const queue = await started(await context());
      await queue.close();
      await expect(queue.enqueue(uniqueName('closed'), {})).rejects.toMatchObject({
        code: 'PK_ERR_QUEUE_UNAVAILABLE',
      });
      await expect(queue.depth()).rejects.toMatchObject({ code: 'PK_ERR_QUEUE_UNAVAILABLE' });
      await expect(queue.start()).rejects.toMatchObject({ code: 'PK_ERR_QUEUE_UNAVAILABLE' });
    });

    it('refuses bad names, ids and options as programming errors', async () => {
      const queue = await started(await context());
      await expect(queue.enqueue('bad name!', {})).rejects.toBeInstanceOf(TypeError);
      await expect(queue.enqueue('ok', {}, { id: 'not-a-uuid' })).rejects.toBeInstanceOf(TypeError);
      await expect(queue.enqueue('ok', {}, { retryLimit: -1 })).rejects.toBeInstanceOf(TypeError);
      await expect(queue.work('ok', { concurrency: 0 }, async () => {})).rejects.toBeInstanceOf(TypeError);
      await expect(queue.schedule('ok', 0)).rejects.toBeInstanceOf(TypeError);
    });

    it('hands out jobs in batches of at most batchSize', async () => {
      const queue = await started(await context());
      const name = uniqueName('batch');
      const ids = await queue.enqueueMany(
        name,
        Array.from({ length: 10 }, (_, n) => ({ data: { n } })),
      );
      expect(ids).toHaveLength(10);
      expect(new Set(ids).size).toBe(10);
      expect(await queue.depth(name)).toBe(10);
      const batches: number[][] = [];
      await queue.work<{ n: number }>(name, { batchSize: 4 }, async (jobs) => {
        batches.push(jobs.map((job) => job.data.n));
      });
      await waitFor(() => batches.flat().length === 10);
      expect(batches.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(Math.max(...batches.map((batch) => batch.length))).toBe(4);
      await waitFor(async () => (await queue.depth(name)) === 0);
    });

    it('holds a delayed job until it is due', async () => {
      const queue = await started(await context());
      const name = uniqueName('delayed');
      let workedAt = 0;
      await queue.work(name, {}, async () => {
        workedAt = Date.now();
      });
      const enqueuedAt = Date.now();
      const id = await queue.enqueue(name, { later: true }, { startAfterMs: 600 });
      expect((await queue.getJob(name, id))?.state).toBe('created');
      await waitFor(() => workedAt > 0);
      // A lower bound only: a delayed job must never run early (50 ms for clock granularity).
      expect(workedAt - enqueuedAt).toBeGreaterThanOrEqual(550);
    });

    it('retries a failing job with backoff, then completes it', async () => {
      const queue = await started(await context());
      const name = uniqueName('retry');
      const attempts: { retryCount: number; firstDelivery: boolean | undefined; at: number }[] = [];
      await queue.work(name, {}, async (jobs) => {
        attempts.push({
          retryCount: jobs[0]!.retryCount,
          firstDelivery: jobs[0]!.firstDelivery,
          at: Date.now(),
        });
        if (attempts.length < 3) throw new Error(`boom ${attempts.length}`);
      });
      const id = await queue.enqueue(
        name,
        {},
        { retryLimit: 3, retryDelayMs: harness.retryDelayMs, retryBackoff: true },
      );
      await waitFor(() => attempts.length >= 1);
      await waitFor(async () => (await queue.getJob(name, id))?.state !== 'active');
      const between = await queue.getJob(name, id);
      if (attempts.length === 1) {
        expect(between).toMatchObject({ state: 'retry', retryCount: 0, lastError: 'boom 1' });
      }
      await waitFor(async () => (await queue.getJob(name, id))?.state === 'completed');
      expect(attempts.map((attempt) => attempt.retryCount)).toEqual([0, 1, 2]);
      expect(attempts.map((attempt) => attempt.firstDelivery)).toEqual([true, false, false]);
      expect((await queue.getJob(name, id))?.retryCount).toBe(2);
      // Equal jitter waits at least half a step; backoff doubles the step each retry.
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(harness.retryDelayMs / 2 - 20);
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(harness.retryDelayMs - 20);
    });

    it('fails a job at once on PermanentJobError, without retries', async () => {
      const queue = await started(await context());
      const name = uniqueName('permanent');
      let attempts = 0;
      await queue.work(name, {}, async () => {
        attempts += 1;
        throw new PermanentJobError('payload rejected for good');
      });
      const id = await queue.enqueue(name, {}, { retryLimit: 5, retryDelayMs: harness.retryDelayMs });
      await waitFor(async () => (await queue.getJob(name, id))?.state === 'failed');
      const info = await queue.getJob(name, id);
      expect(info?.lastError).toContain('payload rejected for good');
      expect(attempts).toBe(1);
    });

    it('fails a job for good once its retries are spent', async () => {
      const queue = await started(await context());
      const name = uniqueName('exhausted');
      let attempts = 0;
      await queue.work(name, {}, async () => {
        attempts += 1;
        throw new Error('still broken');
      });
      const id = await queue.enqueue(name, {}, { retryLimit: 1, retryDelayMs: 0, retryBackoff: false });
      await waitFor(async () => (await queue.getJob(name, id))?.state === 'failed');
      expect(attempts).toBe(2);
      expect((await queue.getJob(name, id))?.lastError).toContain('still broken');
    });

    it('never runs more handlers at once than the concurrency', async () => {
      const queue = await started(await context());
      const name = uniqueName('concurrency');
      let running = 0;
      let maxRunning = 0;
      let done = 0;
      const gates: (() => void)[] = [];
      await queue.work(name, { concurrency: 2 }, async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        const gate = deferred();
        gates.push(gate.resolve);
        await gate.promise;
        running -= 1;
        done += 1;
      });
      await queue.enqueueMany(
        name,
        Array.from({ length: 6 }, (_, n) => ({ data: { n } })),
      );
      while (done < 6) {
        // Saturate, then let the running handlers go; maxRunning records any overshoot.
        await waitFor(() => done === 6 || running >= Math.min(2, 6 - done));
        for (const release of gates.splice(0)) release();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(maxRunning).toBe(2);
    });

    it('two instances share a queue without handing any job to both', async () => {
      const ctx = await context();
      const a = await started(ctx);
      const b = await started(ctx);
      const name = uniqueName('shared');
      const seen = new Map<string, number>();
      const handler = async (jobs: readonly Job[]) => {
        for (const job of jobs) seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 1));
      };
      await a.work(name, { concurrency: 2, batchSize: 5 }, handler);
      await b.work(name, { concurrency: 2, batchSize: 5 }, handler);
      const ids = [
        ...(await a.enqueueMany(
          name,
          Array.from({ length: 100 }, (_, n) => ({ data: { n } })),
        )),
        ...(await b.enqueueMany(
          name,
          Array.from({ length: 100 }, (_, n) => ({ data: { n } })),
        )),
      ];
      await waitFor(() => seen.size === 200);
      await waitFor(async () => (await a.depth(name)) === 0);
      expect([...seen.keys()].sort()).toEqual([...ids].sort());
      expect([...seen.values()].every((count) => count === 1)).toBe(true);
    });

    it('wakes an idle worker on enqueue, without waiting for a poll', async () => {
      const queue = await started(await context(), { slowPolling: true });
      const name = uniqueName('wake');
      let worked = 0;
      await queue.work(name, {}, async () => {
        worked += 1;
      });
      // Let the worker's first fetch come back empty, so only a wake-up can deliver the job.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await queue.enqueue(name, {});
      await waitFor(() => worked === 1, 15_000);
    });

    it('works through a backlog without waiting for a poll between batches', async () => {
      const queue = await started(await context(), { slowPolling: true });
      const name = uniqueName('backlog');
      // Enqueued before any worker exists: no wake-up on enqueue can help here.
      await queue.enqueueMany(name, Array.from({ length: 30 }, (_, n) => ({ data: { n } })));
      let worked = 0;
      await queue.work(name, { concurrency: 2 }, async (jobs) => {
        worked += jobs.length;
      });
      // 15 batches per worker; a poll between them would take 15 × 10 minutes.
      await waitFor(() => worked === 30, 15_000);
    });

    it('claims each schedule interval once across two instances', async () => {
      const ctx = await context();
      let now = Date.now();
      const clock = () => now;
      const a = await started(ctx, { now: clock });
      const b = await started(ctx, { now: clock });
      const name = uniqueName('schedule');
      await a.schedule(name, 60_000, { task: 'upkeep' });
      await b.schedule(name, 60_000, { task: 'upkeep' });
      const runBoth = async () => {
        await Promise.all([a.runDueSchedules(), b.runDueSchedules()]);
        await Promise.all([a.runDueSchedules(), b.runDueSchedules()]);
      };
      await runBoth();
      expect(await a.depth(name)).toBe(1);
      now += 30_000;
      await runBoth();
      expect(await a.depth(name)).toBe(1);
      now += 30_000;
      await runBoth();
      expect(await b.depth(name)).toBe(2);
      // Three intervals missed: one run, not three.
      now += 3 * 60_000 + 10;
      await runBoth();
      expect(await b.depth(name)).toBe(3);
      now += 60_000 - 20;
      await runBoth();
      expect(await b.depth(name)).toBe(3);
      now += 10;
      await runBoth();
      expect(await b.depth(name)).toBe(4);
      await a.unschedule(name);
      now += 600_000;
      await runBoth();
      expect(await b.depth(name)).toBe(4);
    });

    it('runs a schedule on its own timer and delivers its data', async () => {
      const ctx = await context();
      const a = await started(ctx);
      const b = await started(ctx);
      const name = uniqueName('ticker');
      const seen: unknown[] = [];
      await b.work(name, {}, async (jobs) => {
        seen.push(...jobs.map((job) => job.data));
      });
      const scheduledAt = Date.now();
      await a.schedule(name, 300, { task: 'tick' });
      await b.schedule(name, 300, { task: 'tick' });
      await waitFor(() => seen.length >= 3);
      const elapsed = Date.now() - scheduledAt;
      // An upper bound that slowness cannot break: each claim moves the slot by a full interval.
      expect(seen.length).toBeLessThanOrEqual(Math.floor(elapsed / 300) + 1);
      expect(seen[0]).toEqual({ task: 'tick' });
      await a.unschedule(name);
    });

    it('graceful stop waits for in-flight handlers and fetches nothing new', async () => {
      const queue = await started(await context());
      const name = uniqueName('graceful');
      const events: string[] = [];
      const gate = deferred();
      await queue.work(name, {}, async () => {
        events.push('handler started');
        await gate.promise;
        events.push('handler finished');
      });
      const first = await queue.enqueue(name, {});
      await waitFor(() => events.length === 1);
      const stopping = queue.stop({ timeoutMs: 10_000 }).then(() => events.push('stopped'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(events).toEqual(['handler started']);
      gate.resolve();
      await stopping;
      expect(events).toEqual(['handler started', 'handler finished', 'stopped']);
      expect((await queue.getJob(name, first))?.state).toBe('completed');
      const second = await queue.enqueue(name, {});
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await queue.getJob(name, second))?.state).toBe('created');
    });

    it('close() during a graceful stop waits for the handlers it is draining', async () => {
      const ctx = await context();
      const queue = ctx.create();
      await queue.start();
      const name = uniqueName('close-drain');
      const gate = deferred();
      let handlerStarted = false;
      await queue.work(name, {}, async () => {
        handlerStarted = true;
        await gate.promise;
      });
      const id = await queue.enqueue(name, {});
      await waitFor(() => handlerStarted);
      const stopping = queue.stop({ timeoutMs: 10_000 });
      const closing = queue.close();
      setTimeout(gate.resolve, 100);
      await Promise.all([stopping, closing]);
      const reopened = await started(ctx);
      expect((await reopened.getJob(name, id))?.state).toBe('completed');
    });

    it('a stop whose grace runs out aborts the handler and hands the job back', async () => {
      const ctx = await context();
      const queue = await started(ctx);
      const name = uniqueName('abandon');
      let aborted = false;
      await queue.work(name, {}, async (jobs) => {
        await new Promise<void>((resolve) => {
          jobs[0]!.signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          });
        });
      });
      const id = await queue.enqueue(name, {});
      await waitFor(async () => (await queue.getJob(name, id))?.state === 'active');
      await queue.stop({ timeoutMs: 50 });
      expect(aborted).toBe(true);
      await waitFor(async () => ['created', 'retry'].includes((await queue.getJob(name, id))?.state ?? ''));
    });

    it('cancels a waiting job so it never runs', async () => {
      const queue = await started(await context());
      const name = uniqueName('cancel');
      const id = await queue.enqueue(name, {}, { startAfterMs: 60_000 });
      await queue.cancel(name, id);
      expect((await queue.getJob(name, id))?.state).toBe('cancelled');
      expect(await queue.depth(name)).toBe(0);
    });

    it('keeps a job enqueued before close and works it after reopening', async () => {
      const ctx = await context();
      const name = uniqueName('durable');
      const first = ctx.create();
      await first.start();
      const id = await first.enqueue(name, { kept: true });
      await first.close();
      await first.close();
      const second = await started(ctx);
      const seen: Job[] = [];
      await second.work(name, {}, async (jobs) => {
        seen.push(...jobs);
      });
      await waitFor(() => seen.length === 1);
      expect(seen[0]).toMatchObject({ id, data: { kept: true } });
    });

    it('works again a job whose worker process was killed mid-job', async () => {
      const ctx = await context();
      const name = uniqueName('crash');
      const producer = await started(ctx);
      const id = await producer.enqueue(name, { device: 'abc' });
      const child = spawn(process.execPath, [CRASH_WORKER, JSON.stringify({ ...ctx.childSpec, name })], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      cleanups.push(async () => killChild(child));
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      await waitFor(() => output.includes(`started ${id}`), 30_000);
      expect((await producer.getJob(name, id))?.state).toBe('active');
      await killChild(child);
      await producer.close();

      const survivor = await started(ctx);
      const seen: Job[] = [];
      await survivor.work(name, {}, async (jobs) => {
        seen.push(...jobs);
      });
      await waitFor(() => seen.length === 1, 30_000);
      expect(seen[0]).toMatchObject({ id, data: { device: 'abc' } });
      // Handed out before, to the killed worker: whoever resumes it must look for its traces.
      expect(seen[0]!.firstDelivery).toBe(false);
      await waitFor(async () => (await survivor.getJob(name, id))?.state === 'completed');
    });
  });
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
