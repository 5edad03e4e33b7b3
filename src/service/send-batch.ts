/**
 * One send job: a page of devices of one notification, sent through the app's credentials to each
 * device's own environment, the registry kept clean, and the batch committed once as a whole.
 *
 * Crash safety (docs/pipeline.md states the bound): the job is the checkpoint. A run sends its
 * devices, then commits in one transaction its counts, the outcome rows that need one (rejections,
 * invalidations, failures; deliveries too when the notification asks), the coarse last_success_at
 * marks, and the batch's checkpoint keyed by the job's id. A run that dies before that commit is
 * run again whole, so a crash re-sends at most the devices of the batches in flight, each with the
 * same derived apns-id. A run commits only if the checkpoint is still what it read at its start, so
 * a batch's counts land once even when two runs overlap (a queue handing a job out again).
 */
import { type DeviceToken, type Environment, healthBlocksSending, maskDeviceToken, otherEnvironment, type PushType, type SendResult } from '../domain/index.ts';
import type { Job } from '../queue/contract.ts';
import type { App, BatchDevice, OutcomeInput, OutcomeKind, Store } from '../store/contract.ts';
import { apnsIdFor } from './apns-id.ts';
import { finishIfComplete } from './completion.ts';
import type { ApnsGateway, DeliveryRoute, OutgoingNotification } from './gateway.ts';
import type { ServiceLogger } from './logger.ts';
import { type GuardSettings, markUnauthorized, reviewAnswers, stopWith } from './registry-guard.ts';
import { type SendDevice, type SendJob, sendJobDevices } from './queues.ts';
import type { WebhookNotifier } from './webhook.ts';

export interface SendDeps {
  readonly store: Store;
  readonly gateway: ApnsGateway;
  readonly logger: ServiceLogger;
  readonly webhooks: WebhookNotifier;
  /** A device's last_success_at is rewritten only when older than this (config lastSuccessIntervalHours). */
  readonly successMarkIntervalMs: number;
  /** The send queue's retry limit: on the last attempt, retryable results become `failed` outcomes. */
  readonly sendRetryLimit: number;
  /** The mass-invalidation guard's thresholds and the unreachable window (registry-guard.ts). */
  readonly guard?: GuardSettings;
  readonly now?: () => Date;
}

/** Thrown so the queue retries the job later; devices with an outcome are skipped next time. */
export class RetryableSendError extends Error {
  override readonly name = 'RetryableSendError';
}

type Stop = { readonly failureReason: string };

/** A device of the job's page (queues.ts), as the job carries it. */
type Device = SendDevice;

interface Context {
  readonly deps: SendDeps;
  readonly app: App;
  readonly notificationId: string;
  readonly routes: (environment: Environment) => DeliveryRoute;
  readonly outgoing: (token: DeviceToken) => OutgoingNotification;
  /** Devices left for a later attempt (transport failures, APNs 429/5xx), across the job's parts. */
  readonly retryable: Retryable[];
  stop: Stop | null;
}

interface Retryable {
  readonly device: Device;
  readonly reason: string;
}

/** What the job's parts produced, committed once when they are all done. */
interface Part {
  /** Rows to store: every outcome but `accepted`, and `accepted` too when deliveries are recorded. */
  readonly outcomes: OutcomeInput[];
  readonly counts: Record<OutcomeKind, number>;
  /** Devices APNs accepted: their last_success_at marks. */
  readonly succeeded: DeviceToken[];
  readonly recordDeliveries: boolean;
  readonly retryable: Retryable[];
}

function note(part: Part, outcome: OutcomeInput): void {
  part.counts[outcome.outcome] += 1;
  part.outcomes.push(outcome);
}

function accepted(part: Part, token: DeviceToken, apnsId: string): void {
  part.counts.accepted += 1;
  part.succeeded.push(token);
  if (part.recordDeliveries) part.outcomes.push({ token, outcome: 'accepted', apnsId });
}

function now(deps: SendDeps): Date {
  return deps.now?.() ?? new Date();
}

async function invalidate(ctx: Context, part: Part, token: DeviceToken, reason: string, status: number, at: Date | undefined, apnsId: string) {
  const { deps, app } = ctx;
  const source = status === 410 ? 'apns-410' : 'apns-400';
  const reportAt = at ?? now(deps);
  const outcome = await deps.store.invalidations.invalidate(app.id, token, { reason, source, at: reportAt });
  if (outcome === 'removed') {
    deps.logger.info(
      { appId: app.id, token: maskDeviceToken(token), reason, source, invalidSince: reportAt.toISOString() },
      `removed token ${maskDeviceToken(token)}: APNs ${status} ${reason}`,
    );
    await deps.webhooks.notify(app.id, {
      type: 'device.invalidated',
      token,
      reason,
      source,
      apnsTimestamp: reportAt.toISOString(),
      removedAt: now(deps).toISOString(),
    });
  } else if (outcome === 'kept-reregistered') {
    deps.logger.info({ appId: app.id, token: maskDeviceToken(token), reason }, 'kept token: registered again after APNs reported it');
  }
  const removed = outcome === 'removed' || outcome === 'already-removed';
  note(part, { token, outcome: removed ? 'invalidated' : 'rejected', reason, apnsId });
}

const CREDENTIAL_FAILURES: ReadonlySet<string> = new Set(['PK_ERR_APNS_CREDENTIALS_UNHEALTHY', 'PK_ERR_CREDENTIALS_INVALID']);

async function markCredentialsUnhealthy(ctx: Context, reason: string): Promise<void> {
  const stop = await markUnauthorized(ctx.deps, ctx.app, reason);
  ctx.stop ??= stop;
}

/** Applies one result's disposition (an environment mismatch here was already tried on both). */
async function apply(ctx: Context, part: Part, device: Device, result: SendResult): Promise<void> {
  const { token } = device;
  if (result.kind === 'accepted') {
    accepted(part, token, result.apnsId);
    return;
  }
  if (result.kind === 'failed') {
    if (CREDENTIAL_FAILURES.has(result.code)) {
      // The client refused to send (a GOAWAY such as BadCertificateEnvironment, unusable stored
      // credentials): the same outcome as a reauth rejection.
      await markCredentialsUnhealthy(ctx, result.message);
      return;
    }
    part.retryable.push({ device, reason: result.code });
    return;
  }
  switch (result.disposition) {
    case 'invalidate-token':
      await invalidate(ctx, part, token, result.reason, result.status, result.invalidSince, result.apnsId);
      return;
    case 'environment-mismatch':
      // Rejected in both environments: the token is no good anywhere.
      await invalidate(ctx, part, token, result.reason, result.status, undefined, result.apnsId);
      return;
    case 'retry':
      part.retryable.push({ device, reason: result.reason });
      return;
    case 'reauth':
      await markCredentialsUnhealthy(ctx, result.reason);
      return;
    case 'permanent':
      if (result.scope === 'device') {
        note(part, { token, outcome: 'rejected', reason: result.reason, apnsId: result.apnsId });
      } else {
        ctx.stop ??= { failureReason: `APNs rejected the notification: ${result.reason}` };
      }
      return;
  }
}

/** The devices by environment, in input order; one group when they all share one (the usual case). */
function byEnvironment(devices: readonly Device[]): [Environment, readonly Device[]][] {
  const first = devices[0]?.environment;
  if (first === undefined) return [];
  if (devices.every((device) => device.environment === first)) return [[first, devices]];
  const groups = new Map<Environment, Device[]>();
  for (const device of devices) {
    const list = groups.get(device.environment);
    if (list === undefined) groups.set(device.environment, [device]);
    else list.push(device);
  }
  return [...groups];
}

async function sendPart(ctx: Context, part: Part, devices: readonly Device[]): Promise<void> {
  for (const [environment, list] of byEnvironment(devices)) {
    if (ctx.stop) return;
    const results = await ctx.deps.gateway.sendAll(ctx.routes(environment), list.map((d) => ctx.outgoing(d.token)));
    const answers: [Device, Exclude<SendResult, { kind: 'accepted' }>][] = [];
    for (let index = 0; index < list.length; index += 1) {
      const device = list[index]!;
      const result = results[index]!;
      if (result.kind === 'accepted') {
        // The common case, kept free of promises: a count and a success mark.
        accepted(part, device.token, result.apnsId);
      } else {
        answers.push([device, result]);
      }
    }
    // Apple: BadDeviceToken may mean "a token of the other environment" ("Handling notification
    // responses from APNs"); try it there once.
    const elsewhere = answers.filter(([, r]) => r.kind === 'rejected' && r.disposition === 'environment-mismatch').map(([d]) => d);
    const otherRoute = ctx.routes(otherEnvironment(environment));
    const retried = elsewhere.length > 0 ? await ctx.deps.gateway.sendAll(otherRoute, elsewhere.map((d) => ctx.outgoing(d.token))) : [];
    // Nothing is applied before the guard saw the whole batch: a configuration error deletes nothing.
    const review = { app: ctx.app, notificationId: ctx.notificationId, sent: list.length, rejected: answers.map(([, r]) => r), retried };
    const stop = answers.length === 0 ? null : await reviewAnswers(ctx.deps, review);
    if (stop) {
      ctx.stop ??= stop;
      for (const [{ token }, r] of answers) {
        const apnsId = r.apnsId || apnsIdFor(ctx.notificationId, token);
        if (r.kind === 'rejected') note(part, { token, outcome: 'rejected', reason: r.reason, apnsId });
        else note(part, { token, outcome: 'failed', reason: r.code, apnsId });
      }
      return;
    }
    for (const [device, result] of answers) {
      if (result.kind !== 'rejected' || result.disposition !== 'environment-mismatch') await apply(ctx, part, device, result);
    }
    for (const [index, device] of elsewhere.entries()) {
      const result = retried[index]!;
      if (result.kind === 'accepted') {
        const moved = { token: device.token, environment: otherEnvironment(device.environment) };
        await ctx.deps.store.devices.setEnvironment(ctx.app.id, moved.token, moved.environment);
        ctx.deps.logger.info(
          { appId: ctx.app.id, token: maskDeviceToken(moved.token), environment: moved.environment },
          'corrected device environment',
        );
      }
      await apply(ctx, part, device, result);
    }
  }
}

/**
 * Devices per call to the gateway, and parts in flight at once: a job of thousands of devices is
 * sent as a few parts, so that an aborted job stops between parts and APNs never waits on the tail
 * of one part (the next is already in flight).
 */
const PART_SIZE = 500;
const PARTS_IN_FLIGHT = 2;

type SendOptions = { pushType: PushType; priority: 1 | 5 | 10; expiration?: number; collapseId?: string; recordDeliveries?: boolean };

/** Builds each device's notification from the fields every device shares (one object per device). */
function outgoingFor(notificationId: string, options: SendOptions, payload: Buffer): (token: DeviceToken) => OutgoingNotification {
  const { pushType, priority, expiration, collapseId } = options;
  if (expiration === undefined && collapseId === undefined) {
    return (token) => ({ token, apnsId: apnsIdFor(notificationId, token), pushType, priority, payload });
  }
  const optional = {
    ...(expiration === undefined ? {} : { expiration }),
    ...(collapseId === undefined ? {} : { collapseId }),
  };
  return (token) => ({ token, apnsId: apnsIdFor(notificationId, token), pushType, priority, ...optional, payload });
}

export async function runSendBatch(deps: SendDeps, job: Job<SendJob>): Promise<void> {
  const { appId, notificationId } = job.data;
  const notification = await deps.store.notifications.get(appId, notificationId);
  if (notification === null || notification.status !== 'sending') return; // cancelled or failed: stop here
  const app = await deps.store.apps.get(appId);
  const secrets = app === null ? null : await deps.store.apps.getSecrets(appId);
  if (app === null || secrets === null) return;
  if (healthBlocksSending(app.apnsHealth) && app.apnsHealth.status !== 'healthy') {
    await deps.store.notifications.transition(appId, notificationId, ['sending'], 'failed', {
      failureReason: stopWith('PK_ERR_APNS_UNAUTHORIZED', `APNs refused the credentials: ${app.apnsHealth.reason}`).failureReason,
    });
    return;
  }
  const options = notification.options as SendOptions;
  const payload = Buffer.from(notification.payload, 'utf8');
  const ctx: Context = {
    deps,
    app,
    notificationId,
    routes: (environment) => ({
      appId,
      bundleId: app.topic,
      credentials: secrets.credentials,
      endpoints: app.endpoints,
      environment,
    }),
    outgoing: outgoingFor(notificationId, options, payload),
    retryable: [],
    stop: null,
  };
  // A job delivered for the first time has run nowhere before, so it has no checkpoint: the
  // look-up is for jobs that run again (a retry, a crash, a worker taken over).
  const checkpoint =
    job.firstDelivery === true ? null : await deps.store.notifications.batchCheckpoint(appId, notificationId, job.id);
  const after = checkpoint?.commits ?? 0;
  if (checkpoint !== null && after > 0 && checkpoint.remaining.length === 0) {
    await finishIfComplete(deps.store, appId, notificationId, deps.logger); // done by an earlier run
    return;
  }
  const todo: readonly Device[] = after > 0 ? checkpoint!.remaining : sendJobDevices(job.data);
  const lastAttempt = job.retryCount >= deps.sendRetryLimit;
  const part: Part = {
    outcomes: [],
    counts: { accepted: 0, rejected: 0, failed: 0, invalidated: 0 },
    succeeded: [],
    recordDeliveries: options.recordDeliveries === true,
    retryable: [],
  };
  const running = new Set<Promise<void>>();
  let failure: { readonly error: unknown } | undefined;
  for (let start = 0; start < todo.length && !ctx.stop && !failure && !job.signal.aborted; start += PART_SIZE) {
    const sending: Promise<void> = sendPart(ctx, part, todo.slice(start, start + PART_SIZE)).then(
      () => {
        running.delete(sending);
      },
      (error: unknown) => {
        running.delete(sending);
        failure ??= { error };
      },
    );
    running.add(sending);
    while (running.size >= PARTS_IN_FLIGHT) await Promise.race(running);
  }
  await Promise.all(running);
  // Nothing committed: the next run sends the whole batch again (the bound in docs/pipeline.md).
  if (failure) throw failure.error;
  if (job.signal.aborted && !ctx.stop) throw new RetryableSendError('send batch aborted; it runs again from its checkpoint');
  let remaining: BatchDevice[] = [];
  if (lastAttempt) {
    for (const { device, reason } of part.retryable) {
      note(part, { token: device.token, outcome: 'failed', reason, apnsId: apnsIdFor(notificationId, device.token) });
    }
  } else {
    remaining = part.retryable.map((r) => r.device);
  }
  const at = now(deps);
  const committed = await deps.store.notifications.commitBatch(appId, notificationId, {
    batch: job.id,
    after,
    counts: part.counts,
    outcomes: part.outcomes,
    succeeded: part.succeeded,
    successAt: at,
    successMaxAgeMs: deps.successMarkIntervalMs,
    remaining,
  });
  if (!committed) {
    // Another run of this job committed first (or the notification is gone): its counts stand.
    deps.logger.info({ appId, notificationId, jobId: job.id }, 'send batch already committed by another run');
    return;
  }
  if (ctx.stop) {
    const failed = await deps.store.notifications.transition(appId, notificationId, ['sending', 'queued'], 'failed', {
      failureReason: ctx.stop.failureReason,
    });
    if (failed) deps.logger.warn({ appId, notificationId, reason: ctx.stop.failureReason }, 'notification failed');
    return;
  }
  if (remaining.length > 0) {
    // Cancelled (or failed elsewhere) meanwhile: the job ends here instead of waiting in the queue to retry.
    const current = await deps.store.notifications.get(appId, notificationId);
    if (current === null || current.status !== 'sending') return;
    throw new RetryableSendError(
      `${remaining.length} device(s) to retry: ${[...new Set(part.retryable.map((r) => r.reason))].join(', ')}`,
    );
  }
  await finishIfComplete(deps.store, appId, notificationId, deps.logger);
}
