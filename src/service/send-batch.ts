/**
 * One send job: a page of devices of one notification, sent through the app's credentials to each
 * device's own environment, with every outcome recorded and the registry kept clean.
 *
 * Crash safety: outcomes are recorded every `outcomeChunk` devices; a job that runs again skips the
 * devices that already have an outcome. A crash therefore re-sends at most the chunk in flight,
 * each with the same derived apns-id (docs/pipeline.md states the bound).
 */
import { type DeviceToken, type Environment, maskDeviceToken, otherEnvironment, type PushType, type SendResult } from '../domain/index.ts';
import type { Job } from '../queue/contract.ts';
import type { App, OutcomeInput, Store } from '../store/contract.ts';
import { apnsIdFor } from './apns-id.ts';
import { finishIfComplete } from './completion.ts';
import type { ApnsGateway, DeliveryRoute, OutgoingNotification } from './gateway.ts';
import type { ServiceLogger } from './logger.ts';
import type { SendJob } from './queues.ts';
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

interface Device {
  readonly token: DeviceToken;
  readonly environment: Environment;
}

interface Context {
  readonly deps: SendDeps;
  readonly app: App;
  readonly notificationId: string;
  readonly routes: (environment: Environment) => DeliveryRoute;
  readonly outgoing: (token: DeviceToken) => OutgoingNotification;
  readonly outcomes: OutcomeInput[];
  readonly succeeded: DeviceToken[];
  readonly retryable: { device: Device; reason: string }[];
  stop: Stop | null;
}

function now(deps: SendDeps): Date {
  return deps.now?.() ?? new Date();
}

async function invalidate(ctx: Context, token: DeviceToken, reason: string, status: number, at: Date | undefined, apnsId: string) {
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
  ctx.outcomes.push({ token, outcome: removed ? 'invalidated' : 'rejected', reason, apnsId });
}

const CREDENTIAL_FAILURES: ReadonlySet<string> = new Set(['PK_ERR_APNS_CREDENTIALS_UNHEALTHY', 'PK_ERR_CREDENTIALS_INVALID']);

async function markCredentialsUnhealthy(ctx: Context, reason: string): Promise<void> {
  ctx.stop ??= { failureReason: `APNs refused the credentials: ${reason}` };
  await ctx.deps.store.apps.setCredentialsHealth(ctx.app.id, { status: 'unhealthy', reason, since: now(ctx.deps) });
}

/** Applies one result's disposition. Returns the devices to try on the other environment. */
async function apply(ctx: Context, device: Device, result: SendResult, allowEnvironmentRetry: boolean): Promise<Device | null> {
  const { token } = device;
  if (result.kind === 'accepted') {
    ctx.outcomes.push({ token, outcome: 'accepted', apnsId: result.apnsId });
    ctx.succeeded.push(token);
    return null;
  }
  if (result.kind === 'failed') {
    if (CREDENTIAL_FAILURES.has(result.code)) {
      // The client refused to send (a GOAWAY such as BadCertificateEnvironment, unusable stored
      // credentials): the same outcome as a reauth rejection.
      await markCredentialsUnhealthy(ctx, result.message);
      return null;
    }
    ctx.retryable.push({ device, reason: result.code });
    return null;
  }
  switch (result.disposition) {
    case 'invalidate-token':
      await invalidate(ctx, token, result.reason, result.status, result.invalidSince, result.apnsId);
      return null;
    case 'environment-mismatch':
      if (allowEnvironmentRetry) return { token, environment: otherEnvironment(device.environment) };
      // Rejected in both environments: the token is no good anywhere.
      await invalidate(ctx, token, result.reason, result.status, undefined, result.apnsId);
      return null;
    case 'retry':
      ctx.retryable.push({ device, reason: result.reason });
      return null;
    case 'reauth':
      await markCredentialsUnhealthy(ctx, result.reason);
      return null;
    case 'permanent':
      if (result.scope === 'device') {
        ctx.outcomes.push({ token, outcome: 'rejected', reason: result.reason, apnsId: result.apnsId });
      } else {
        ctx.stop ??= { failureReason: `APNs rejected the notification: ${result.reason}` };
      }
      return null;
  }
}

async function sendChunk(ctx: Context, devices: readonly Device[]): Promise<void> {
  const byEnvironment = new Map<Environment, Device[]>();
  for (const device of devices) {
    const list = byEnvironment.get(device.environment) ?? [];
    list.push(device);
    byEnvironment.set(device.environment, list);
  }
  for (const [environment, list] of byEnvironment) {
    if (ctx.stop) return;
    const results = await ctx.deps.gateway.sendAll(ctx.routes(environment), list.map((d) => ctx.outgoing(d.token)));
    const elsewhere: Device[] = [];
    for (const [index, device] of list.entries()) {
      const other = await apply(ctx, device, results[index]!, true);
      if (other) elsewhere.push(other);
    }
    if (elsewhere.length > 0 && !ctx.stop) {
      // Apple: BadDeviceToken may mean "a token of the other environment" (§1.1); try it there once.
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
        await apply(ctx, device, result, false);
      }
    }
  }
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
  const options = notification.options as { pushType: PushType; priority: 1 | 5 | 10; expiration?: number; collapseId?: string };
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
    outgoing: (token) => ({
      token,
      apnsId: apnsIdFor(notificationId, token),
      pushType: options.pushType,
      priority: options.priority,
      ...(options.expiration === undefined ? {} : { expiration: options.expiration }),
      ...(options.collapseId === undefined ? {} : { collapseId: options.collapseId }),
      payload,
    }),
    outcomes: [],
    succeeded: [],
    retryable: [],
    stop: null,
  };
  const recorded = await deps.store.notifications.recordedTokens(
    appId,
    notificationId,
    job.data.devices.map((d) => d.token),
  );
  const todo = job.data.devices.filter((d) => !recorded.has(d.token));
  const lastAttempt = job.retryCount >= deps.sendRetryLimit;
  for (let start = 0; start < todo.length && !ctx.stop; start += deps.outcomeChunk) {
    if (job.signal.aborted) throw new RetryableSendError('send batch aborted; it resumes from its last checkpoint');
    await sendChunk(ctx, todo.slice(start, start + deps.outcomeChunk));
    if (lastAttempt) {
      for (const { device, reason } of ctx.retryable.splice(0)) {
        ctx.outcomes.push({ token: device.token, outcome: 'failed', reason, apnsId: apnsIdFor(notificationId, device.token) });
      }
    }
    const outcomes = ctx.outcomes.splice(0);
    if (outcomes.length > 0) await deps.store.notifications.recordOutcomes(appId, notificationId, outcomes);
    const succeeded = ctx.succeeded.splice(0);
    if (succeeded.length > 0) await deps.store.devices.markSuccess(appId, succeeded, now(deps));
  }
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
