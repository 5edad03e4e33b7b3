/**
 * Fan-out: stream a notification's audience in keyset pages and turn each page into one send job.
 * Crash-safe by construction: each page's job id is derived from the cursor it starts after, and
 * the job carries the cursor it ends at. Resuming from the last checkpoint, a page whose job
 * already exists is not streamed again — its job's own devices and end cursor are checkpointed —
 * so the targeted count and the jobs always agree, whatever moment the process died.
 */
import type { JobQueue } from '../queue/contract.ts';
import type { Notification, Store } from '../store/contract.ts';
import { jobIdFor } from './apns-id.ts';
import { finishIfComplete } from './completion.ts';
import type { ServiceLogger } from './logger.ts';
import { type FanoutJob, packSendDevices, QUEUE, type SendJob, sendJobSize } from './queues.ts';

export interface FanoutDeps {
  readonly store: Store;
  readonly queue: JobQueue;
  readonly logger: ServiceLogger;
  /** Devices per send job. */
  readonly batchSize: number;
  /** Retries of a send job (transport failures, APNs 5xx/429 after the client's own retries). */
  readonly sendRetryLimit: number;
}

export function sendJobId(notificationId: string, afterCursor: string | null): string {
  return jobIdFor('send', notificationId, afterCursor ?? '');
}

async function firstPage(deps: FanoutDeps, notification: Notification, after: string | null) {
  for await (const page of deps.store.devices.streamAudience(notification.appId, notification.audience, {
    pageSize: deps.batchSize,
    after,
  })) {
    return page;
  }
  return null;
}

export async function runFanout(deps: FanoutDeps, job: FanoutJob, signal?: AbortSignal): Promise<void> {
  const { appId, notificationId } = job;
  let notification = await deps.store.notifications.get(appId, notificationId);
  if (notification === null) return;
  // `fresh`: this run started the fan-out, so no earlier run can have enqueued a page of it, and
  // the per-page look-up of an orphaned send job (a crash between enqueue and checkpoint) is skipped.
  let fresh = false;
  if (notification.status === 'queued') {
    fresh = await deps.store.notifications.transition(appId, notificationId, ['queued'], 'sending');
    notification = (await deps.store.notifications.get(appId, notificationId)) ?? notification;
  }
  if (notification.status !== 'sending') return; // done, failed or cancelled: nothing to fan out
  let cursor = notification.fanoutCursor;
  let complete = notification.fanoutComplete;
  let current: Notification | null = notification;
  while (!complete) {
    if (signal?.aborted) throw new Error('fan-out aborted; it resumes from its checkpoint');
    // Between pages, look again: a cancellation stops the fan-out.
    current ??= await deps.store.notifications.get(appId, notificationId);
    if (current === null || current.status !== 'sending') return;
    const page0 = current;
    current = null;
    const jobId = sendJobId(notificationId, cursor);
    const existing = fresh ? null : await deps.queue.getJob<SendJob>(QUEUE.send, jobId);
    if (existing !== null) {
      // Enqueued before a crash, not checkpointed: take the job's own page.
      const size = sendJobSize(existing.data);
      const last = size < deps.batchSize;
      await deps.store.notifications.checkpointFanout(appId, notificationId, {
        cursor: existing.data.endCursor,
        targetedDelta: size,
        complete: last,
      });
      cursor = existing.data.endCursor;
      complete = last;
      continue;
    }
    const page = await firstPage(deps, page0, cursor);
    if (page === null || page.devices.length === 0) {
      await deps.store.notifications.checkpointFanout(appId, notificationId, { cursor, targetedDelta: 0, complete: true });
      complete = true;
      break;
    }
    const sendJob: SendJob = {
      appId,
      notificationId,
      ...packSendDevices(page.devices),
      endCursor: page.cursor,
    };
    await deps.queue.enqueue(QUEUE.send, sendJob, { id: jobId, retryLimit: deps.sendRetryLimit, retryDelayMs: 2000 });
    // A short page is the last one: saying so now saves a query and a write per small push.
    const last = page.devices.length < deps.batchSize;
    await deps.store.notifications.checkpointFanout(appId, notificationId, {
      cursor: page.cursor,
      targetedDelta: page.devices.length,
      complete: last,
    });
    cursor = page.cursor;
    complete = last;
  }
  await finishIfComplete(deps.store, appId, notificationId, deps.logger);
}
