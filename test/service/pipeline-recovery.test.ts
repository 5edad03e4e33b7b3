/**
 * The pipeline's two paths to APNs never both send a device: a notification committed
 * by a process that died before enqueueing is sent by recovery; one whose jobs already ran is not
 * sent again when a job is delivered twice (at-least-once queues do that).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runFanout } from '../../src/service/fanout.ts';
import { silentLogger } from '../../src/service/logger.ts';
import { runSendBatch } from '../../src/service/send-batch.ts';
import { packSendDevices, type SendJob } from '../../src/service/queues.ts';
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
    // A duplicate delivery of a send job, even one revived in `sending` state:
    const job: SendJob = {
      appId: h.app.id,
      notificationId: id,
      ...packSendDevices(tokens.map((token) => ({ token, environment: 'production' as const }))),
      endCursor: 'x',
    };
    await h.store.notifications.transition(h.app.id, id, ['done'], 'sending');
    const { createAgentGateway } = await import('../../src/service/apns-gateway.ts');
    const { ApnsAgent } = await import('../../src/providers/apns/index.ts');
    const gateway = createAgentGateway({ agent: new ApnsAgent() });
    try {
      await runSendBatch(
        {
          store: h.store,
          gateway,
          logger: silentLogger,
          webhooks: { notify: async () => {} },
          outcomeChunk: 10,
          sendRetryLimit: 2,
        },
        { id: 'dup', name: 'pk.send', data: job, retryCount: 0, signal: new AbortController().signal },
      );
    } finally {
      await gateway.close();
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(h.production.acceptedCount).toBe(3);
    const outcomes = await h.store.notifications.recordedTokens(h.app.id, id, tokens);
    expect(outcomes.size).toBe(3);
  });
});
