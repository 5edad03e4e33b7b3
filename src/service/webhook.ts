/**
 * Invalidation webhooks (docs/webhooks.md): each removal is POSTed to the app's webhook, signed so
 * the receiver can tell it came from us (domain/webhook-signature.ts), and retried with backoff
 * through the durable queue.
 *
 * Where it may go is the domain's policy (domain/webhook-policy.ts), applied twice: when the URL is
 * saved, and here when a delivery connects. A host name is resolved by our own lookup, which checks
 * every address it returns and hands the connection exactly those, so a name that resolves
 * somewhere private by the time of sending (DNS rebinding) is refused instead of reached. Redirects
 * are never followed (node:http does not), so a public receiver cannot bounce us inward either.
 */
import { randomUUID } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import {
  checkWebhookAddress,
  checkWebhookUrl,
  type Problem,
  signWebhook,
  WEBHOOK_SIGNATURE_HEADER,
  type WebhookPolicy,
  type WebhookTarget,
} from '../domain/index.ts';
import { PermanentJobError } from '../queue/permanent-job-error.ts';
import type { JobQueue } from '../queue/contract.ts';
import type { Store } from '../store/contract.ts';
import type { ServiceLogger } from './logger.ts';
import { QUEUE, type WebhookJob } from './queues.ts';

export const SIGNATURE_HEADER = WEBHOOK_SIGNATURE_HEADER;
export { signWebhook, verifyWebhookSignature } from '../domain/index.ts';

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

/** `dns.lookup` with every address: what the checked lookup wraps (a seam for rebinding tests). */
export type ResolveAll = (
  hostname: string,
  callback: (error: NodeJS.ErrnoException | null, addresses: readonly LookupAddress[]) => void,
) => void;

const resolveWithDns: ResolveAll = (hostname, callback) =>
  dnsLookup(hostname, { all: true } satisfies LookupAllOptions, (error, addresses) =>
    callback(error, addresses ?? []),
  );

export interface WebhookDeliveryDeps {
  readonly store: Store;
  readonly logger: ServiceLogger;
  /** Where deliveries may go; private targets only with PUSHKEEPER_WEBHOOK_ALLOW_PRIVATE. */
  readonly policy: WebhookPolicy;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
  readonly resolve?: ResolveAll;
  /** A CA to trust besides the public ones (a receiver with a private CA; the tests'). */
  readonly caPem?: string;
}

/** A delivery the policy refused: retrying will not help until the URL or the DNS changes. */
class WebhookRefused extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.message);
    this.problem = problem;
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

function checkedLookup(target: WebhookTarget, policy: WebhookPolicy, resolve: ResolveAll) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    resolve(hostname, (error, addresses) => {
      if (error) return callback(error, '', 0);
      if (addresses.length === 0)
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      // Every address, not just the first: a resolver may hand out a public and a private one.
      for (const entry of addresses) {
        const allowed = checkWebhookAddress(entry.address, target.protocol, policy);
        if (!allowed.ok) return callback(new WebhookRefused(allowed.error), '', 0);
      }
      if (options.all) return callback(null, [...addresses]);
      const first = addresses[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}

function post(
  target: WebhookTarget,
  headers: Record<string, string>,
  body: string,
  deps: WebhookDeliveryDeps,
): Promise<number> {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const tlsOptions =
    target.protocol === 'https:' && deps.caPem !== undefined ? { ca: [...rootCertificates, deps.caPem] } : {};
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: checkedLookup(target, deps.policy, deps.resolve ?? resolveWithDns) as never,
        // One connection per delivery: a pooled socket would skip the lookup, and with it the check.
        agent: false,
        ...tlsOptions,
      },
      (response) => {
        // The answer's status is all we need; its body is never read (nor logged).
        response.resume();
        response.on('error', () => {});
        resolve(response.statusCode ?? 0);
        response.destroy();
      },
    );
    request.setTimeout(timeoutMs, () =>
      request.destroy(new Error(`webhook did not answer within ${timeoutMs} ms`)),
    );
    request.on('error', reject);
    request.end(body);
  });
}

export async function deliverWebhook(deps: WebhookDeliveryDeps, job: WebhookJob): Promise<void> {
  const secrets = await deps.store.apps.getSecrets(job.appId);
  const webhook = secrets?.webhook;
  if (!webhook) return; // removed since: nothing to deliver to
  const target = checkWebhookUrl(webhook.url, deps.policy);
  if (!target.ok) return refuse(deps, job, target.error);
  const body = JSON.stringify(job.event);
  const t = Math.floor((deps.now?.() ?? new Date()).getTime() / 1000);
  let status: number;
  try {
    status = await post(
      target.value,
      {
        'content-type': 'application/json',
        'user-agent': 'pushkeeper-webhook/1',
        'pushkeeper-event-id': String(job.event['id'] ?? ''),
        [SIGNATURE_HEADER]: signWebhook(webhook.secret, body, t),
      },
      body,
      deps,
    );
  } catch (error) {
    if (error instanceof WebhookRefused) return refuse(deps, job, error.problem);
    const code = (error as NodeJS.ErrnoException).code;
    deps.logger.warn(
      { appId: job.appId, error: code ?? 'request-failed' },
      'webhook delivery failed; will retry',
    );
    throw new Error(`webhook delivery failed (${code ?? 'request failed'})`);
  }
  if (status < 200 || status >= 300) {
    deps.logger.warn(
      { appId: job.appId, status },
      status >= 300 && status < 400
        ? 'webhook answered a redirect, which is not followed; will retry'
        : 'webhook delivery failed; will retry',
    );
    throw new Error(`webhook answered ${status}`);
  }
}

function refuse(deps: WebhookDeliveryDeps, job: WebhookJob, problem: Problem): never {
  deps.logger.warn(
    { appId: job.appId, code: problem.code, reason: problem.reason ?? null },
    'webhook delivery refused by the webhook URL policy; not retried',
  );
  throw new PermanentJobError(`webhook refused: ${problem.reason ?? problem.code}`);
}
