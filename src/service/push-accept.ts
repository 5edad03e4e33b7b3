/**
 * Accepting a push: validate everything a request can get wrong, persist the notification, then
 * enqueue its fan-out. The notification row is the durable record: if the process dies between the
 * commit and the enqueue, recovery (recovery.ts) enqueues the fan-out of every notification still
 * `queued`, with the same derived job id, so nothing is lost and nothing is enqueued twice.
 */
import {
  type Audience,
  fail,
  ok,
  parseAudience,
  parseNotificationOptions,
  problem,
  PUSH_TYPE_RULES,
  type Result,
  serialisePayload,
} from '../domain/index.ts';
import { PushkeeperError } from '../errors.ts';
import type { JobQueue } from '../queue/contract.ts';
import type { Store } from '../store/contract.ts';
import { jobIdFor } from './apns-id.ts';
import type { AcceptedPush, PushRequest, PushService } from './contract.ts';
import type { ServiceLogger } from './logger.ts';
import { type FanoutJob, QUEUE } from './queues.ts';

export interface PushAcceptDeps {
  readonly store: Store;
  readonly queue: JobQueue;
  readonly logger: ServiceLogger;
  /** Most tokens or aliases one request may name. */
  readonly maxRecipients: number;
  /** Called after a successful enqueue; the fast path hooks in here. */
  readonly onAccepted?: (appId: string, notificationId: string, audience: Audience) => void;
}

export function fanoutJobId(notificationId: string): string {
  return jobIdFor('fanout', notificationId);
}

export async function enqueueFanout(queue: JobQueue, appId: string, notificationId: string): Promise<void> {
  const job: FanoutJob = { appId, notificationId };
  await queue.enqueue(QUEUE.fanout, job, { id: fanoutJobId(notificationId), retryLimit: 10, retryDelayMs: 1000 });
}

export function createPushService(deps: PushAcceptDeps): PushService {
  return {
    async accept(appId, request: PushRequest, options = {}): Promise<Result<AcceptedPush>> {
      const app = await deps.store.apps.get(appId);
      if (app === null) return fail(problem('PK_ERR_APP_NOT_FOUND', 'App not found.'));
      const audience = parseAudience(request.audience, deps.maxRecipients);
      if (!audience.ok) return audience;
      const parsedOptions = parseNotificationOptions(request.options);
      if (!parsedOptions.ok) return parsedOptions;
      if (parsedOptions.value.apnsId !== undefined) {
        // One apns-id per device is derived from the notification id (apns-id.ts); a caller's single
        // id cannot be shared by many requests without making Apple's delivery log ambiguous.
        return fail(
          problem('PK_ERR_VALIDATION', 'options.apnsId is assigned per device by Pushkeeper; leave it out.', 'apns-id-not-settable'),
        );
      }
      const pushType = parsedOptions.value.pushType;
      if (app.authKind === 'certificate' && !PUSH_TYPE_RULES[pushType].certificateAuth) {
        return fail(
          problem('PK_ERR_PUSH_TYPE_NEEDS_TOKEN_AUTH', `Push type ${pushType} needs token (.p8) credentials.`, 'certificate-app', {
            pushType,
          }),
        );
      }
      const payload = serialisePayload(request.payload, pushType);
      if (!payload.ok) return payload;
      const created = await deps.store.notifications.create(appId, {
        audience: audience.value,
        payload: payload.value.bytes.toString('utf8'),
        options: { ...parsedOptions.value },
        idempotencyKey: options.idempotencyKey ?? null,
      });
      if (!created.ok) return created;
      const notification = created.value.notification;
      if (created.value.created || notification.status === 'queued') {
        try {
          await enqueueFanout(deps.queue, appId, notification.id);
        } catch (error) {
          // Nothing will send it now; fail it so a retried request (new key) is the only copy sent.
          await deps.store.notifications
            .transition(appId, notification.id, ['queued'], 'failed', { failureReason: 'PK_ERR_QUEUE_UNAVAILABLE' })
            .catch(() => undefined);
          throw new PushkeeperError('PK_ERR_QUEUE_UNAVAILABLE', undefined, undefined, { cause: error });
        }
        deps.logger.info({ appId, notificationId: notification.id, pushType }, 'notification accepted');
        if (created.value.created) deps.onAccepted?.(appId, notification.id, audience.value);
      }
      // The row as committed: no second read on the accept path (the 202 says `queued` even when a
      // worker already picked it up; GET shows where it is now).
      return ok({ notification, created: created.value.created });
    },

    async cancel(appId, notificationId) {
      return deps.store.notifications.cancel(appId, notificationId);
    },
  };
}
