/**
 * The pipeline's two paths to APNs never both send a device: a notification committed by a process
 * that died before enqueueing is sent by recovery; one whose jobs already ran is not sent again when
 * a job is delivered twice (at-least-once queues do that). A send batch is the checkpoint: runs that
 * overlap both send (the stated bound) but its counts land once, and a run with devices to retry
 * commits the rest and leaves only those for the next attempt.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceToken } from '../../src/domain/index.ts';
import { ApnsAgent } from '../../src/providers/apns/index.ts';
import type { Job } from '../../src/queue/contract.ts';
import { createAgentGateway } from '../../src/service/apns-gateway.ts';
import { runFanout, sendJobId } from '../../src/service/fanout.ts';
import { silentLogger } from '../../src/service/logger.ts';
import { packSendDevices, QUEUE, type SendJob } from '../../src/service/queues.ts';
import { runSendBatch, type SendDeps } from '../../src/service/send-batch.ts';
import { type Backend, type Harness, randomToken, startHarness } from './pipeline-harness.ts';

const payload = { aps: { alert: 'hello' } };

describe.each<Backend>(['sqlite', 'postgres'])('pipeline recovery on %s', (backend) => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('sends a notification whose accepting process died between commit and enqueue, exactly once', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const tokens = [randomToken(), randomToken()];
    for (const token of tokens) await h.register(token, { environment: 'production', alias: 'lost' });
    // What accept() commits before it enqueues: the notification row, status queued, no job.
    const created = await h.store.notifications.create(h.app.id, {
      audience: { alias: 'lost' },
      payload: JSON.stringify(payload),
      options: { pushType: 'alert', priority: 10 },
    });
    expect(created.ok).toBe(true);
    if (!created.ok) return;
    const id = created.value.notification.id;
    await new Promise((r) => setTimeout(r, 200));
    expect(h.production.acceptedCount).toBe(0); // nothing knows about it yet
    expect(await h.pipeline.recover()).toBe(1); // what a restarting process does at start
    const final = await h.waitForFinal(id);
    expect(final.counts).toMatchObject({ targeted: 2, accepted: 2, pending: 0 });
    expect(await h.pipeline.recover()).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.production.accepted.map((n) => n.token).sort()).toEqual([...tokens].sort());
  });

  it('sends nothing again when the fan-out or a send job of a finished notification runs twice', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const tokens = [randomToken(), randomToken(), randomToken()];
    for (const token of tokens) await h.register(token, { environment: 'production', tags: ['t'] });
    const accepted = await h.pipeline.push.accept(h.app.id, { audience: { tags: ['t'] }, payload });
    expect(accepted.ok).toBe(true);
    if (!accepted.ok) return;
    const id = accepted.value.notification.id;
    expect((await h.waitForFinal(id)).counts.accepted).toBe(3);
    expect(h.production.acceptedCount).toBe(3);
    // A duplicate delivery of the fan-out job:
    await runFanout({ store: h.store, queue: h.queue, logger: silentLogger, batchSize: 100, sendRetryLimit: 2 }, {
      appId: h.app.id,
      notificationId: id,
    });
    // A duplicate delivery of the send job (the real one, by its derived id), even revived in `sending`:
    const job = await h.queue.getJob<SendJob>(QUEUE.send, sendJobId(id, null));
    expect(job).not.toBeNull();
    await h.store.notifications.transition(h.app.id, id, ['done'], 'sending');
    await withSendDeps(h, (deps) => runSendBatch(deps, runOf(job!.id, job!.data, { retryCount: 1, firstDelivery: false })));
    await new Promise((r) => setTimeout(r, 200));
    expect(h.production.acceptedCount).toBe(3);
    expect((await h.store.notifications.get(h.app.id, id))?.counts).toMatchObject({ targeted: 3, accepted: 3, pending: 0 });
    // Deliveries are not recorded by default: no outcome row per accepted device.
    expect((await h.store.notifications.recordedTokens(h.app.id, id, tokens)).size).toBe(0);
  });

  it('two overlapping runs of one batch (a job handed out again) both send, and its counts land once', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const tokens = Array.from({ length: 20 }, randomToken);
    for (const token of tokens) await h.register(token, { environment: 'production' });
    const id = await sendingNotification(h, tokens.length, { recordDeliveries: true });
    const data = sendJobOf(h, id, tokens);
    await withSendDeps(h, (deps) =>
      Promise.all([
        runSendBatch(deps, runOf('00000000-0000-4000-8000-000000000001', data, { retryCount: 0, firstDelivery: false })),
        runSendBatch(deps, runOf('00000000-0000-4000-8000-000000000001', data, { retryCount: 1, firstDelivery: false })),
      ]),
    );
    // Within the bound: the batch in flight twice.
    expect(h.production.acceptedCount).toBe(40);
    const final = await h.store.notifications.get(h.app.id, id);
    expect(final?.status).toBe('done');
    expect(final?.counts).toEqual({ targeted: 20, accepted: 20, rejected: 0, invalidated: 0, failed: 0, pending: 0 });
    // recordDeliveries: one row per device, however many runs sent it.
    expect((await h.store.notifications.recordedTokens(h.app.id, id, tokens)).size).toBe(20);
  });

  it('a batch with devices to retry commits the rest and sends only those again; counts and failures exact', async () => {
    harness = await startHarness(backend, { sendRetryLimit: 1 });
    const h = harness;
    const tokens = Array.from({ length: 10 }, randomToken);
    for (const token of tokens) await h.register(token, { environment: 'production' });
    const [busy, unavailable, rejected] = [tokens[0]!, tokens[1]!, tokens[2]!];
    h.production.respondWith((request) => {
      if (request.token === busy || request.token === unavailable) return { status: 503, reason: 'ServiceUnavailable' };
      if (request.token === rejected) return { status: 400, reason: 'MissingDeviceToken' };
      return undefined;
    });
    const id = await sendingNotification(h, tokens.length);
    const data = sendJobOf(h, id, tokens);
    const jobId = '00000000-0000-4000-8000-000000000002';
    await withSendDeps(h, async (deps) => {
      await expect(runSendBatch(deps, runOf(jobId, data, { retryCount: 0, firstDelivery: true }))).rejects.toThrow(/2 device/);
      expect((await h.store.notifications.get(h.app.id, id))?.counts).toMatchObject({ accepted: 7, rejected: 1, pending: 2 });
      const sentFirst = h.production.accepted.length;
      h.production.respondWith((request) => (request.token === busy ? undefined : request.token === unavailable ? { status: 503, reason: 'ServiceUnavailable' } : undefined));
      // The last attempt: the one still unavailable becomes `failed`.
      await runSendBatch(deps, runOf(jobId, data, { retryCount: 1, firstDelivery: false }));
      expect(h.production.accepted.slice(sentFirst).map((n) => n.token)).toEqual([busy]);
    });
    const final = await h.store.notifications.get(h.app.id, id);
    expect(final?.status).toBe('done');
    expect(final?.counts).toEqual({ targeted: 10, accepted: 8, rejected: 1, invalidated: 0, failed: 1, pending: 0 });
    const failures = await h.store.notifications.listFailures(h.app.id, id);
    expect(failures.ok && failures.value.items.map((f) => [f.token, f.outcome, f.reason]).sort()).toEqual(
      [
        [rejected, 'rejected', 'MissingDeviceToken'],
        [unavailable, 'failed', 'ServiceUnavailable'],
      ].sort(),
    );
  });
});

/** A notification in `sending` whose fan-out is complete with `targeted` devices, as a send job finds it. */
async function sendingNotification(h: Harness, targeted: number, options: Record<string, unknown> = {}): Promise<string> {
  const created = await h.store.notifications.create(h.app.id, {
    audience: { all: true },
    payload: JSON.stringify(payload),
    options: { pushType: 'alert', priority: 10, ...options },
  });
  if (!created.ok) throw new Error(created.error.message);
  const id = created.value.notification.id;
  await h.store.notifications.transition(h.app.id, id, ['queued'], 'sending');
  await h.store.notifications.checkpointFanout(h.app.id, id, { cursor: null, targetedDelta: targeted, complete: true });
  return id;
}

function sendJobOf(h: Harness, notificationId: string, tokens: readonly string[]): SendJob {
  return {
    appId: h.app.id,
    notificationId,
    ...packSendDevices(tokens.map((token) => ({ token: token as DeviceToken, environment: 'production' as const }))),
    endCursor: 'x',
  };
}

function runOf(id: string, data: SendJob, attempt: { retryCount: number; firstDelivery: boolean }): Job<SendJob> {
  return { id, name: QUEUE.send, data, ...attempt, signal: new AbortController().signal };
}

async function withSendDeps(h: Harness, fn: (deps: SendDeps) => Promise<unknown>): Promise<void> {
  // No client-side retries: what APNs answers 503 is left to the job's own next attempt at once.
  const gateway = createAgentGateway({ agent: new ApnsAgent({ client: { retry: { maxAttempts: 1 } } }) });
  try {
    await fn({
      store: h.store,
      gateway,
      logger: silentLogger,
      webhooks: { notify: async () => {} },
      successMarkIntervalMs: 86_400_000,
      sendRetryLimit: 1,
    });
  } finally {
    await gateway.close();
  }
}
