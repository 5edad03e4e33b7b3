/**
 * The registry's guard and the app's provider health, judged from one batch's answers before any
 * of them is applied (send-batch.ts calls `reviewAnswers` once per batch):
 *
 * - answers that look like a configuration error (domain/misconfiguration.ts) delete nothing: the
 *   app's APNs health turns `misconfigured` with the cause, the notification fails with a code
 *   naming it, a warning is logged and an `app.misconfigured` webhook event is posted;
 * - a batch that reached nobody (refused, TLS or CA failure, connect timeout, after the client's own
 *   bounded reconnects) turns the health `unreachable`; once it has been so for
 *   `unreachableFailAfterMs`, notifications fail with the reason instead of waiting in `sending`;
 * - any accepted answer makes an unreachable or misconfigured app healthy again.
 * A configuration error must never empty the registry: docs/pipeline.md states the rule.
 */
import {
  APNS_MISCONFIGURATION_RULES,
  type BatchAnswers,
  DEFAULT_GUARD_THRESHOLDS,
  detectMisconfiguration,
  type GuardThresholds,
  type ProviderHealth,
  type SendResult,
} from '../domain/index.ts';
import type { ErrorCode } from '../errors.ts';
import type { App, Store } from '../store/contract.ts';
import type { ServiceLogger } from './logger.ts';
import type { WebhookNotifier } from './webhook.ts';

export interface GuardSettings {
  readonly thresholds: GuardThresholds;
  /** How long an app's APNs may stay unreachable before its notifications fail. */
  readonly unreachableFailAfterMs: number;
}

export const DEFAULT_GUARD_SETTINGS: GuardSettings = {
  thresholds: DEFAULT_GUARD_THRESHOLDS,
  unreachableFailAfterMs: 30_000,
};

export interface GuardDeps {
  readonly store: Store;
  readonly logger: ServiceLogger;
  readonly webhooks: WebhookNotifier;
  readonly guard?: GuardSettings;
  readonly now?: () => Date;
}

/** One batch of one environment, as sent, before any disposition is applied. */
export interface BatchReview {
  readonly app: App;
  readonly notificationId: string;
  /** Devices sent to. */
  readonly sent: number;
  /** The answers that were not `accepted`, first environment. */
  readonly rejected: readonly SendResult[];
  /** The answers of the devices tried again on the other environment (BadDeviceToken first). */
  readonly retried: readonly SendResult[];
}

/** Why the notification stops: a failure reason that starts with a catalogue code. */
export interface GuardStop {
  readonly code: ErrorCode;
  readonly failureReason: string;
}

/** Transport failures that mean "no connection could be made", not "this request was lost". */
const UNREACHABLE_CODES: ReadonlySet<ErrorCode> = new Set([
  'PK_ERR_APNS_CONNECTION',
  'PK_ERR_APNS_TLS',
  'PK_ERR_APNS_TIMEOUT',
]);

function isUnreachable(result: SendResult): boolean {
  return result.kind === 'failed' && !result.ambiguous && UNREACHABLE_CODES.has(result.code);
}

function nowOf(deps: GuardDeps): Date {
  return deps.now?.() ?? new Date();
}

export function stopWith(code: ErrorCode, reason: string): GuardStop {
  return { code, failureReason: `${code}: ${reason}` };
}

function countAnswers(review: BatchReview): BatchAnswers {
  const reasons = new Map<string, number>();
  for (const result of review.rejected) {
    if (result.kind === 'rejected') reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1);
  }
  let both = 0;
  for (const result of review.retried) {
    if (result.kind === 'rejected' && result.disposition === 'environment-mismatch') both += 1;
  }
  return { sent: review.sent, reasons, rejectedInBothEnvironments: both, topic: review.app.topic };
}

async function setHealth(deps: GuardDeps, app: App, health: ProviderHealth): Promise<ProviderHealth> {
  return (await deps.store.apps.setApnsHealth(app.id, health)) ?? health;
}

/**
 * Judges one batch. Answers a stop (the notification fails with it, and the caller applies no
 * invalidation of this batch) or null (apply the dispositions as usual).
 */
export async function reviewAnswers(deps: GuardDeps, review: BatchReview): Promise<GuardStop | null> {
  const { app, notificationId } = review;
  const settings = deps.guard ?? DEFAULT_GUARD_SETTINGS;
  const verdict = detectMisconfiguration(
    APNS_MISCONFIGURATION_RULES,
    countAnswers(review),
    settings.thresholds,
  );
  if (verdict !== null) {
    await setHealth(deps, app, { status: 'misconfigured', reason: verdict.cause, since: nowOf(deps) });
    deps.logger.warn(
      { appId: app.id, notificationId, code: verdict.code, reason: verdict.reason, devices: review.sent },
      `app ${app.id} looks misconfigured, no device removed: ${verdict.cause}`,
    );
    await deps.webhooks.notify(app.id, {
      type: 'app.misconfigured',
      provider: 'apns',
      code: verdict.code,
      reason: verdict.reason,
      cause: verdict.cause,
      notificationId,
      at: nowOf(deps).toISOString(),
    });
    return stopWith(verdict.code, verdict.cause);
  }
  const answered = review.rejected.length < review.sent || review.rejected.some((r) => r.kind === 'rejected');
  const accepted = review.rejected.length < review.sent || review.retried.some((r) => r.kind === 'accepted');
  if (accepted && (app.apnsHealth.status === 'unreachable' || app.apnsHealth.status === 'misconfigured')) {
    await setHealth(deps, app, { status: 'healthy' });
    deps.logger.info(
      { appId: app.id, previous: app.apnsHealth.status },
      `app ${app.id}: APNs answers again, health is healthy`,
    );
    return null;
  }
  if (answered || !review.rejected.some(isUnreachable)) return null;
  const failure = review.rejected.find(isUnreachable);
  const reason = failure?.kind === 'failed' ? `${failure.code}: ${failure.message}` : 'no connection';
  const health = await setHealth(deps, app, { status: 'unreachable', reason, since: nowOf(deps) });
  if (app.apnsHealth.status !== 'unreachable') {
    deps.logger.warn(
      { appId: app.id, notificationId, reason },
      `app ${app.id}: APNs is unreachable: ${reason}`,
    );
  }
  const since = health.status === 'healthy' ? nowOf(deps) : health.since;
  if (nowOf(deps).getTime() - since.getTime() < settings.unreachableFailAfterMs) return null;
  return stopWith(
    'PK_ERR_APNS_UNREACHABLE',
    `APNs could not be reached since ${since.toISOString()}: ${reason}`,
  );
}

/** APNs refused the credentials (a 403 reason, or the client's hold after one). */
export async function markUnauthorized(deps: GuardDeps, app: App, reason: string): Promise<GuardStop> {
  await setHealth(deps, app, { status: 'unauthorized', reason, since: nowOf(deps) });
  if (app.apnsHealth.status !== 'unauthorized') {
    deps.logger.warn({ appId: app.id, reason }, `app ${app.id}: APNs refused the credentials: ${reason}`);
  }
  return stopWith('PK_ERR_APNS_UNAUTHORIZED', `APNs refused the credentials: ${reason}`);
}
