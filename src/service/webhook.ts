/**
 * Invalidation webhooks: each removal is POSTed to the app's webhook, signed so the receiver can
 * tell it came from us, and retried with backoff through the durable queue.
 *
 * Signature (docs/webhooks.md): header `Pushkeeper-Signature: t=<unix seconds>,v1=<hex>` where
 * hex = HMAC-SHA256(secret, `${t}.${body}`). Receivers compare in constant time and reject old `t`
 * to stop replays — the scheme Stripe and others made familiar.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { JobQueue } from '../queue/contract.ts';
import type { Store } from '../store/contract.ts';
import type { ServiceLogger } from './logger.ts';
import { QUEUE, type WebhookJob } from './queues.ts';

export const SIGNATURE_HEADER = 'pushkeeper-signature';

export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/** For receivers (and our tests): checks a signature header against the body. */
export function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(parts['t']);
  const v1 = parts['v1'];
  if (!Number.isInteger(t) || typeof v1 !== 'string' || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? 300)) return false;
  const expected = signWebhook(secret, body, t).slice(`t=${t},v1=`.length);
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(v1, 'hex'));
}

export interface WebhookNotifier {
  notify(appId: string, event: Readonly<Record<string, unknown>>): Promise<void>;
}

export function createWebhookNotifier(store: Store, queue: JobQueue): WebhookNotifier {
  return {
    async notify(appId, event) {
      const app = await store.apps.get(appId);
      if (app?.webhookUrl == null) return;
      const job: WebhookJob = { appId, event: { id: `evt_${randomUUID()}`, ...event } };
      await queue.enqueue(QUEUE.webhook, job, { retryLimit: 8, retryDelayMs: 2000, retryBackoff: true });
    },
  };
}

export interface WebhookDeliveryDeps {
  readonly store: Store;
  readonly logger: ServiceLogger;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
}

export async function deliverWebhook(deps: WebhookDeliveryDeps, job: WebhookJob): Promise<void> {
  const secrets = await deps.store.apps.getSecrets(job.appId);
  const webhook = secrets?.webhook;
  if (!webhook) return; // removed since: nothing to deliver to
  const body = JSON.stringify(job.event);
  const t = Math.floor((deps.now?.() ?? new Date()).getTime() / 1000);
  const response = await fetch(webhook.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'pushkeeper-webhook/1',
      'pushkeeper-event-id': String(job.event['id'] ?? ''),
      [SIGNATURE_HEADER]: signWebhook(webhook.secret, body, t),
    },
    body,
    signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
    redirect: 'manual',
  });
  await response.body?.cancel();
  if (response.status < 200 || response.status >= 300) {
    deps.logger.warn({ appId: job.appId, status: response.status }, 'webhook delivery failed; will retry');
    throw new Error(`webhook answered ${response.status}`);
  }
}
