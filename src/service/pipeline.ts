/**
 * The push pipeline assembled on a queue: accept → fan-out jobs → send jobs → outcomes, plus
 * webhook deliveries and retention upkeep (maintenance.ts). `serve` runs the API and the workers in
 * one process; `worker` runs only the workers; an API-only process passes `work: false`.
 */
import type { Audience } from '../domain/index.ts';
import type { JobQueue } from '../queue/contract.ts';
import type { Store } from '../store/contract.ts';
import type { PushService } from './contract.ts';
import { runFanout } from './fanout.ts';
import type { ApnsGateway } from './gateway.ts';
import type { ServiceLogger } from './logger.ts';
import { runMaintenance } from './maintenance.ts';
import { createPushService, enqueueFanout } from './push-accept.ts';
import type { GuardSettings } from './registry-guard.ts';
import { type FanoutJob, QUEUE, type SendJob, type WebhookJob } from './queues.ts';
import { runSendBatch } from './send-batch.ts';
import { createWebhookNotifier, deliverWebhook } from './webhook.ts';

export interface PipelineOptions {
  readonly store: Store;
  readonly queue: JobQueue;
  readonly gateway: ApnsGateway;
  readonly logger: ServiceLogger;
  /** Register the queue workers in this process. */
  readonly work: boolean;
  readonly batchSize?: number;
  /** Send jobs a worker takes per fetch from the queue (run one after the other). */
  readonly sendJobsPerFetch?: number;
  readonly workerConcurrency?: number;
  /** last_success_at is rewritten only when older than this; default one day. */
  readonly lastSuccessIntervalMs?: number;
  readonly maxRecipients?: number;
  readonly sendRetryLimit?: number;
  readonly invalidationRetentionDays?: number;
  readonly notificationRetentionDays?: number;
  /** The mass-invalidation guard's thresholds and the unreachable window; safe defaults otherwise. */
  readonly guard?: GuardSettings;
  readonly now?: () => Date;
}

export interface Pipeline {
  readonly push: PushService;
  /** Enqueues the fan-out of every notification still queued (a crash between accept and enqueue). */
  recover(): Promise<number>;
}

/**
 * Fan-out jobs running at once per process. A small push's fan-out takes a few queries, so a few
 * keep a burst of small pushes from queueing behind each other, even beside a broadcast's
 * long fan-out. No more than that: pg-boss wakes every worker of a queue in every process on each
 * new job (LISTEN/NOTIFY), and all but one fetch nothing. Measured with bench:latency's cluster mode
 * (2 workers, 50 pushes/s), three runs each: 8 per process gave p50 42-71 ms, p99 162-271 ms;
 * 3 gave 18-24 / 63-105 ms; 2 once let a backlog build (p50 707 ms).
 */
const FANOUT_CONCURRENCY = 3;

export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const { store, queue, gateway, logger } = options;
  // Measured with bench:fanout on PostgreSQL (docs/benchmarks.md): 5,000 devices per send job cost
  // ~15% less CPU per device than 1,000 (pipeline and database together); two jobs per fetch of
  // 2,000 each no less than 1,000. The crash bound grows with it (docs/pipeline.md).
  const batchSize = options.batchSize ?? 5000;
  const sendRetryLimit = options.sendRetryLimit ?? 5;
  const webhooks = createWebhookNotifier(store, queue);
  const onAccepted = (_appId: string, _id: string, _audience: Audience) => {};
  const push = createPushService({
    store,
    queue,
    logger,
    maxRecipients: options.maxRecipients ?? 10_000,
    onAccepted,
  });

  async function recover(): Promise<number> {
    let count = 0;
    let cursor: string | null = null;
    do {
      const page = await store.notifications.listResumable({ cursor, limit: 500 });
      if (!page.ok) break;
      for (const notification of page.value.items) {
        await enqueueFanout(queue, notification.appId, notification.id);
        count += 1;
      }
      cursor = page.value.nextCursor;
    } while (cursor !== null);
    return count;
  }

  if (options.work) {
    const fanoutDeps = { store, queue, logger, batchSize, sendRetryLimit };
    await queue.work<FanoutJob>(QUEUE.fanout, { concurrency: FANOUT_CONCURRENCY }, async (jobs) => {
      for (const job of jobs) await runFanout(fanoutDeps, job.data, job.signal);
    });
    const sendDeps = {
      store,
      gateway,
      logger,
      webhooks,
      successMarkIntervalMs: options.lastSuccessIntervalMs ?? 86_400_000,
      sendRetryLimit,
      ...(options.guard ? { guard: options.guard } : {}),
      ...(options.now ? { now: options.now } : {}),
    };
    const sendWork = { concurrency: options.workerConcurrency ?? 4, batchSize: options.sendJobsPerFetch ?? 1 };
    await queue.work<SendJob>(QUEUE.send, sendWork, async (jobs) => {
      for (const job of jobs) await runSendBatch(sendDeps, job);
    });
    await queue.work<WebhookJob>(QUEUE.webhook, { concurrency: 4 }, async (jobs) => {
      for (const job of jobs) await deliverWebhook({ store, logger }, job.data);
    });
    const maintenanceDeps = {
      store,
      logger,
      invalidationRetentionDays: options.invalidationRetentionDays ?? 30,
      notificationRetentionDays: options.notificationRetentionDays ?? 30,
      ...(options.now ? { now: options.now } : {}),
    };
    await queue.work(QUEUE.maintenance, { concurrency: 1 }, () => runMaintenance(maintenanceDeps));
    await queue.schedule(QUEUE.maintenance, 3_600_000);
    const recovered = await recover();
    if (recovered > 0) logger.info({ recovered }, 'resumed notifications left queued');
  }
  return { push, recover };
}
