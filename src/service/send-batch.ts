/**
 * One send job: a page of devices of one notification, sent through the app's credentials to each
 * device's own environment, with every outcome recorded and the registry kept clean.
 *
 * Crash safety: at most `outcomeChunk` devices of a job are ever sent and not yet recorded; a job
 * that runs again skips the devices that already have an outcome. A crash therefore re-sends at
 * most `outcomeChunk` devices per running job, each with the same derived apns-id (docs/pipeline.md
 * states the bound). The job goes in parts of half that size, two at a time: while one part's
 * outcomes are written, the other's sends are in flight, so APNs is not left idle behind a write.
 */
import { type DeviceToken, type Environment, maskDeviceToken, otherEnvironment, type PushType, type SendResult } from '../domain/index.ts';
import type { Job } from '../queue/contract.ts';
import type { App, OutcomeInput, Store } from '../store/contract.ts';
import { apnsIdFor } from './apns-id.ts';
import { finishIfComplete } from './completion.ts';
import type { ApnsGateway, DeliveryRoute, OutgoingNotification } from './gateway.ts';
import type { ServiceLogger } from './logger.ts';
import { type SendDevice, type SendJob, sendJobDevices } from './queues.ts';
import type { WebhookNotifier } from './webhook.ts';

export interface SendDeps {
  readonly store: Store;
  readonly gateway: ApnsGateway;
  readonly logger: ServiceLogger;
  readonly webhooks: WebhookNotifier;
  /** Devices sent between two outcome checkpoints: the crash re-send bound. */
  readonly outcomeChunk: number;
  /** The send queue's retry limit: on the last attempt, retryable results become `failed` outcomes. */
  readonly sendRetryLimit: number;
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

/** What one part of the job produced, recorded as soon as the part is done. */
interface Part {
  /** Accepted ones also mark their device's last_success_at when recorded. */
  readonly outcomes: OutcomeInput[];
  readonly retryable: Retryable[];
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
  part.outcomes.push({ token, outcome: removed ? 'invalidated' : 'rejected', reason, apnsId });
}

const CREDENTIAL_FAILURES: ReadonlySet<string> = new Set(['PK_ERR_APNS_CREDENTIALS_UNHEALTHY', 'PK_ERR_CREDENTIALS_INVALID']);

async function markCredentialsUnhealthy(ctx: Context, reason: string): Promise<void> {
  ctx.stop ??= { failureReason: `APNs refused the credentials: ${reason}` };
  await ctx.deps.store.apps.setCredentialsHealth(ctx.app.id, { status: 'unhealthy', reason, since: now(ctx.deps) });
}

/** Applies one result's disposition. Returns the devices to try on the other environment. */
async function apply(ctx: Context, part: Part, device: Device, result: SendResult, allowEnvironmentRetry: boolean): Promise<Device | null> {
  const { token } = device;
  if (result.kind === 'accepted') {
    part.outcomes.push({ token, outcome: 'accepted', apnsId: result.apnsId });
    return null;
  }
  if (result.kind === 'failed') {
    if (CREDENTIAL_FAILURES.has(result.code)) {
      // The client refused to send (a GOAWAY such as BadCertificateEnvironment, unusable stored
      // credentials): the same outcome as a reauth rejection.
      await markCredentialsUnhealthy(ctx, result.message);
      return null;
    }
    part.retryable.push({ device, reason: result.code });
    return null;
  }
  switch (result.disposition) {
    case 'invalidate-token':
      await invalidate(ctx, part, token, result.reason, result.status, result.invalidSince, result.apnsId);
      return null;
    case 'environment-mismatch':
      if (allowEnvironmentRetry) return { token, environment: otherEnvironment(device.environment) };
      // Rejected in both environments: the token is no good anywhere.
      await invalidate(ctx, part, token, result.reason, result.status, undefined, result.apnsId);
      return null;
    case 'retry':
      part.retryable.push({ device, reason: result.reason });
      return null;
    case 'reauth':
      await markCredentialsUnhealthy(ctx, result.reason);
      return null;
    case 'permanent':
      if (result.scope === 'device') {
        part.outcomes.push({ token, outcome: 'rejected', reason: result.reason, apnsId: result.apnsId });
      } else {
        ctx.stop ??= { failureReason: `APNs rejected the notification: ${result.reason}` };
      }
      return null;
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
    const elsewhere: Device[] = [];
    for (let index = 0; index < list.length; index += 1) {
      const device = list[index]!;
      const result = results[index]!;
      if (result.kind === 'accepted') {
        // The common case, kept free of promises: one outcome (it also marks the device's success).
        part.outcomes.push({ token: device.token, outcome: 'accepted', apnsId: result.apnsId });
        continue;
      }
      const other = await apply(ctx, part, device, result, true);
      if (other) elsewhere.push(other);
    }
    if (elsewhere.length > 0 && !ctx.stop) {
      // Apple: BadDeviceToken may mean "a token of the other environment" ("Handling
      // notification responses from APNs"); try it there once.
      const otherRoute = ctx.routes(otherEnvironment(environment));
      const retried = await ctx.deps.gateway.sendAll(otherRoute, elsewhere.map((d) => ctx.outgoing(d.token)));
      for (const [index, device] of elsewhere.entries()) {
        const result = retried[index]!;
        if (result.kind === 'accepted') {
          await ctx.deps.store.devices.setEnvironment(ctx.app.id, device.token, device.environment);
          ctx.deps.logger.info(
            { appId: ctx.app.id, token: maskDeviceToken(device.token), environment: device.environment },
            'corrected device environment',
          );
        }
        await apply(ctx, part, device, result, false);
      }
    }
  }
}

/** Parts of a job in flight at once; each is `outcomeChunk / PARTS_IN_FLIGHT` devices. */
const PARTS_IN_FLIGHT = 2;

type SendOptions = { pushType: PushType; priority: 1 | 5 | 10; expiration?: number; collapseId?: string };

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
  if (app.credentialsHealth.status === 'unhealthy') {
    await deps.store.notifications.transition(appId, notificationId, ['sending'], 'failed', {
      failureReason: `APNs credentials are unhealthy: ${app.credentialsHealth.reason}`,
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
  // A job delivered for the first time has run nowhere before, and its page is in no other job, so
  // none of its devices can have an outcome yet: the look-up is for jobs that run again.
  const devices = sendJobDevices(job.data);
  const recorded =
    job.firstDelivery === true ? null : await deps.store.notifications.recordedTokens(appId, notificationId, devices.map((d) => d.token));
  const todo = recorded === null || recorded.size === 0 ? devices : devices.filter((d) => !recorded.has(d.token));
  const lastAttempt = job.retryCount >= deps.sendRetryLimit;
  /** Sends one part, then records what it produced: outcomes and counts, then success marks. */
  const sendAndRecord = async (devices: readonly Device[]): Promise<void> => {
    const part: Part = { outcomes: [], retryable: [] };
    await sendPart(ctx, part, devices);
    if (lastAttempt) {
      for (const { device, reason } of part.retryable) {
        part.outcomes.push({ token: device.token, outcome: 'failed', reason, apnsId: apnsIdFor(notificationId, device.token) });
      }
    } else {
      ctx.retryable.push(...part.retryable);
    }
    // Outcomes, counts and the accepted devices' last_success_at in one transaction: one commit.
    if (part.outcomes.length > 0) {
      await deps.store.notifications.recordOutcomes(appId, notificationId, part.outcomes, { successAt: now(deps) });
    }
  };
  // Never more than `outcomeChunk` devices sent and not yet recorded: PARTS_IN_FLIGHT parts of
  // `outcomeChunk / PARTS_IN_FLIGHT`, a new one started only when one is recorded.
  const partSize = Math.max(1, Math.ceil(deps.outcomeChunk / PARTS_IN_FLIGHT));
  const running = new Set<Promise<void>>();
  let failure: { readonly error: unknown } | undefined;
  for (let start = 0; start < todo.length && !ctx.stop && !failure && !job.signal.aborted; start += partSize) {
    const part: Promise<void> = sendAndRecord(todo.slice(start, start + partSize)).then(
      () => {
        running.delete(part);
      },
      (error: unknown) => {
        running.delete(part);
        failure ??= { error };
      },
    );
    running.add(part);
    while (running.size >= PARTS_IN_FLIGHT) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure) throw failure.error;
  if (job.signal.aborted && !ctx.stop) throw new RetryableSendError('send batch aborted; it resumes from its last checkpoint');
  if (ctx.stop) {
    const failed = await deps.store.notifications.transition(appId, notificationId, ['sending', 'queued'], 'failed', {
      failureReason: ctx.stop.failureReason,
    });
    if (failed) deps.logger.warn({ appId, notificationId, reason: ctx.stop.failureReason }, 'notification failed');
    return;
  }
  if (ctx.retryable.length > 0) {
    throw new RetryableSendError(
      `${ctx.retryable.length} device(s) to retry: ${[...new Set(ctx.retryable.map((r) => r.reason))].join(', ')}`,
    );
  }
  await finishIfComplete(deps.store, appId, notificationId, deps.logger);
}
