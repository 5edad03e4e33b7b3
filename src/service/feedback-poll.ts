/**
 * One poll of an app's legacy feedback service, applied to the registry .
 *
 * Every complete tuple goes through the store's one invalidation rule with the tuple's own time,
 * so a device that registered again after the failure Apple reports is kept (Apple's
 * archived "The Feedback Service": check that the device has not re-registered the token after the
 * tuple's timestamp). Tuples
 * are applied in batches as they arrive, and what arrived before a failure (a stall, a reset) is
 * applied before the failure is reported: the service clears its list once read, so nothing would
 * bring those tuples back. A truncated last tuple is only counted, never applied.
 *
 * A token that is not a valid APNs token (parseDeviceToken: even-length hex, 64..200 digits) is
 * counted as malformed and logged masked; it never reaches the store.
 */
import {
  type DeviceToken,
  fail,
  maskDeviceToken,
  ok,
  type Problem,
  parseDeviceToken,
  problem,
  type Result,
} from '../domain/index.ts';
import { isPushkeeperError, PushkeeperError } from '../errors.ts';
import type {
  FeedbackClientCertificate,
  FeedbackConnectOptions,
  FeedbackReadResult,
} from '../feedback/client.ts';
import { readFeedback } from '../feedback/client.ts';
import type { FeedbackTuple } from '../feedback/decoder.ts';
import { FeedbackScheduler, type FeedbackSlotClaim, type SchedulerClock } from '../feedback/schedule.ts';
import type { ApnsCredentials, AppFeedbackSettings, InvalidationReport, Store } from '../store/contract.ts';
import type { FeedbackPollSummary, FeedbackService } from './contract.ts';
import type { ServiceLogger } from './logger.ts';

export const FEEDBACK_INVALIDATION_REASON = 'feedback-service';
/** Malformed tuples logged one by one per poll; the rest only counted. */
const MALFORMED_LOG_LIMIT = 20;

/** Everything a poll needs to know about the app: where its feedback service is and how to log in. */
export interface FeedbackPollTarget {
  readonly appId: string;
  readonly host: string;
  readonly port: number;
  readonly caPem?: string | null | undefined;
  readonly certificate: FeedbackClientCertificate;
}

export interface FeedbackPollResult extends FeedbackPollSummary {
  /** Reports for tokens that were already removed (e.g. by an earlier 410 answer). */
  readonly alreadyRemoved: number;
  readonly durationMs: number;
  /** Set when the connection failed after some tuples may already have been applied. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** The reader seam: the real TLS client by default; tests of the apply rules may pass another. */
export type FeedbackReader = (
  options: FeedbackConnectOptions,
  onTuples: (tuples: FeedbackTuple[]) => void | Promise<void>,
) => Promise<FeedbackReadResult>;

export interface FeedbackPollDeps {
  readonly invalidations: Pick<Store['invalidations'], 'invalidateMany'>;
  readonly logger: ServiceLogger;
  readonly read?: FeedbackReader;
  readonly clock?: () => Date;
  readonly connectTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  /**
   * Tuples per store call (one transaction per call in the store). Default 100,000, the store's
   * largest batch: removing tokens at random dirties nearly every page of the registry, and each
   * transaction writes every page it dirtied, so a poll of 100,000 tuples is applied in one
   * transaction (docs/feedback.md: 100,000 removals from 1,000,000 devices took 7.1 s in
   * transactions of 20,000 and 4.4 s in one, raw SQLite on the same loaded machine). Tuples wait in
   * memory until then (~200 bytes each); what arrived before a failure is still applied (below).
   */
  readonly applyBatchSize?: number;
  readonly signal?: AbortSignal;
  /** Observability hook (metrics at the edge): every finished or failed poll's summary. */
  readonly onSummary?: (summary: FeedbackPollResult) => void;
}

/**
 * Polls once and applies. Resolves with the summary; on a transport failure throws the
 * PushkeeperError with `details.summary` holding what was applied before it.
 */
export async function pollAppFeedback(
  target: FeedbackPollTarget,
  deps: FeedbackPollDeps,
): Promise<FeedbackPollResult> {
  const clock = deps.clock ?? (() => new Date());
  const read = deps.read ?? readFeedback;
  const batchSize = Math.max(1, deps.applyBatchSize ?? 100_000);
  const { appId } = target;
  const startedAt = clock();
  const counts = {
    tuplesRead: 0,
    removed: 0,
    keptReregistered: 0,
    alreadyRemoved: 0,
    notFound: 0,
    malformed: 0,
  };
  let pending: ({ readonly token: DeviceToken } & InvalidationReport)[] = [];

  const apply = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const result = await deps.invalidations.invalidateMany(appId, batch, {
      now: startedAt,
      // One log line per removal, written once the store committed it.
      onOutcome: (report, outcome) => {
        if (outcome !== 'removed') return;
        const failedAt = report.at.toISOString();
        const token = maskDeviceToken(report.token);
        deps.logger.info(
          { appId, token, failedAt },
          `removed token ${token}: feedback service, failed at ${failedAt}`,
        );
      },
    });
    counts.removed += result.removed;
    counts.keptReregistered += result.keptReregistered;
    counts.alreadyRemoved += result.alreadyRemoved;
    counts.notFound += result.notFound;
  };

  const onTuples = async (tuples: FeedbackTuple[]): Promise<void> => {
    for (const tuple of tuples) {
      counts.tuplesRead += 1;
      const token = parseDeviceToken(tuple.tokenHex);
      if (!token.ok) {
        counts.malformed += 1;
        // A service sending garbage must not flood the log: the summary carries the full count.
        if (counts.malformed > MALFORMED_LOG_LIMIT) continue;
        deps.logger.warn(
          {
            appId,
            token: maskDeviceToken(tuple.tokenHex),
            tokenLength: tuple.tokenLength,
            reason: token.error.reason,
          },
          `ignored feedback tuple: not an APNs token (${token.error.reason ?? 'invalid'})`,
        );
        continue;
      }
      pending.push({
        token: token.value,
        reason: FEEDBACK_INVALIDATION_REASON,
        source: 'feedback-service',
        at: tuple.failedAt,
      });
      if (pending.length >= batchSize) await apply();
    }
  };

  const summary = (readResult: { truncatedBytes: number }, error?: PushkeeperError): FeedbackPollResult => ({
    appId,
    at: startedAt,
    ...counts,
    truncatedBytes: readResult.truncatedBytes,
    durationMs: Math.max(0, clock().getTime() - startedAt.getTime()),
    ...(error === undefined ? {} : { error: { code: error.code, message: error.message } }),
  });

  let readResult: FeedbackReadResult;
  try {
    readResult = await read(
      {
        host: target.host,
        port: target.port,
        certificate: target.certificate,
        ...(target.caPem ? { ca: target.caPem } : {}),
        ...(deps.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: deps.connectTimeoutMs }),
        ...(deps.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: deps.idleTimeoutMs }),
        ...(deps.signal === undefined ? {} : { signal: deps.signal }),
      },
      onTuples,
    );
    await apply();
  } catch (caught) {
    const error = isPushkeeperError(caught)
      ? caught
      : new PushkeeperError('PK_ERR_INTERNAL', 'The feedback poll failed.', undefined, { cause: caught });
    // Complete tuples that arrived before the failure are still Apple's word: apply them.
    if (error.code !== 'PK_ERR_STORE_UNAVAILABLE') await apply().catch(() => undefined);
    const truncatedBytes =
      typeof error.details?.['truncatedBytes'] === 'number' ? error.details['truncatedBytes'] : 0;
    const partial = summary({ truncatedBytes }, error);
    deps.onSummary?.(partial);
    deps.logger.error(
      { appId, code: error.code, summary: partial },
      `feedback poll failed: ${error.message}`,
    );
    throw new PushkeeperError(
      error.code,
      error.message,
      { ...error.details, summary: partial },
      { cause: error },
    );
  }
  const result = summary(readResult);
  deps.onSummary?.(result);
  if (result.truncatedBytes > 0) {
    deps.logger.warn(
      { appId, truncatedBytes: result.truncatedBytes },
      'the feedback service closed in the middle of a tuple; the partial tuple was not applied',
    );
  }
  deps.logger.info(
    {
      appId,
      tuplesRead: result.tuplesRead,
      removed: result.removed,
      keptReregistered: result.keptReregistered,
      alreadyRemoved: result.alreadyRemoved,
      notFound: result.notFound,
      malformed: result.malformed,
      truncatedBytes: result.truncatedBytes,
    },
    `feedback poll: ${result.tuplesRead} read, ${result.removed} removed, ${result.keptReregistered} kept (re-registered), ${result.malformed} malformed`,
  );
  return result;
}

/** The feedback service needs the app's provider certificate: token (.p8) auth has none. */
export function feedbackCertificateOf(credentials: ApnsCredentials): FeedbackClientCertificate | null {
  if (credentials.auth !== 'certificate') return null;
  const passphrase = credentials.passphrase === undefined ? {} : { passphrase: credentials.passphrase };
  if ('p12Base64' in credentials) return { pfx: Buffer.from(credentials.p12Base64, 'base64'), ...passphrase };
  return { certPem: credentials.certPem, keyPem: credentials.keyPem, ...passphrase };
}

export function feedbackTargetOf(
  appId: string,
  settings: AppFeedbackSettings,
  certificate: FeedbackClientCertificate,
): FeedbackPollTarget {
  return { appId, host: settings.host, port: settings.port, caPem: settings.caPem, certificate };
}

export interface FeedbackPollServiceDeps extends Omit<FeedbackPollDeps, 'invalidations'> {
  readonly store: Pick<Store, 'apps' | 'invalidations' | 'feedbackPolls'>;
}

/**
 * Loads the app's feedback settings and certificate and polls. Unknown app, no feedback settings or
 * no certificate are Result failures; transport failures throw (see pollAppFeedback). Does not
 * record the poll: the caller (the schedule, or `pollNow`) does.
 */
export async function pollConfiguredApp(
  appId: string,
  deps: FeedbackPollServiceDeps,
): Promise<Result<FeedbackPollResult, Problem>> {
  const app = await deps.store.apps.get(appId);
  if (app === null) return fail(problem('PK_ERR_APP_NOT_FOUND', 'App not found.'));
  if (app.feedback === null) {
    return fail(problem('PK_ERR_FEEDBACK_NOT_CONFIGURED', 'This app has no feedback service configured.'));
  }
  const secrets = await deps.store.apps.getSecrets(appId);
  const certificate = secrets === null ? null : feedbackCertificateOf(secrets.credentials);
  if (certificate === null) {
    return fail(
      problem(
        'PK_ERR_FEEDBACK_NOT_CONFIGURED',
        'The feedback service needs certificate credentials; this app uses token (.p8) authentication.',
        'needs-certificate',
      ),
    );
  }
  const { store, ...rest } = deps;
  const result = await pollAppFeedback(feedbackTargetOf(appId, app.feedback, certificate), {
    ...rest,
    invalidations: store.invalidations,
  });
  return ok(result);
}

/**
 * The service the edges call (`POST /v1/apps/:app/feedback:poll`, `pushkeeper feedback poll`): polls
 * now and records the poll, failed or not, so the schedule does not poll again too early.
 */
export function createFeedbackService(deps: FeedbackPollServiceDeps): FeedbackService {
  return {
    async pollNow(appId) {
      const at = (deps.clock ?? (() => new Date()))();
      try {
        const result = await pollConfiguredApp(appId, deps);
        if (result.ok) await deps.store.feedbackPolls.record(appId, at, summaryRecord(result.value));
        return result;
      } catch (error) {
        const partial = isPushkeeperError(error) ? error.details?.['summary'] : undefined;
        if (partial !== undefined) {
          await deps.store.feedbackPolls.record(appId, at, summaryRecord(partial as FeedbackPollResult));
        }
        throw error;
      }
    },
  };
}

/** The summary as stored (JSON-friendly: the time as an ISO string). */
export function summaryRecord(summary: FeedbackPollResult): Readonly<Record<string, unknown>> {
  return { ...summary, at: summary.at.toISOString() };
}

export interface FeedbackScheduleDeps extends FeedbackPollServiceDeps {
  /** Cluster mode: a claim on (app, slot) in the shared database; omitted = one process. */
  readonly tryClaim?: FeedbackSlotClaim;
  /** PUSHKEEPER_FEEDBACK_INTERVAL_HOURS; an app's own intervalHours wins. */
  readonly defaultIntervalHours?: number;
  readonly schedulerClock?: SchedulerClock;
  readonly random?: () => number;
  readonly jitterRatio?: number;
}

/**
 * The schedule wired to the store: apps with feedback settings, last polls in `feedback_polls`,
 * each due app polled and applied as by `pollNow`. Returned unstarted: call `start()`.
 */
export function createFeedbackScheduler(deps: FeedbackScheduleDeps): FeedbackScheduler {
  const { store, logger } = deps;
  return new FeedbackScheduler({
    apps: async () =>
      (await store.apps.listWithFeedback()).map((app) => ({
        appId: app.id,
        intervalHours: app.feedback?.intervalHours,
      })),
    poll: async (appId, signal) => {
      const result = await pollConfiguredApp(appId, { ...deps, signal });
      if (!result.ok) {
        logger.warn({ appId, code: result.error.code }, `feedback poll skipped: ${result.error.message}`);
        return { appId, skipped: { code: result.error.code, message: result.error.message } };
      }
      return summaryRecord(result.value);
    },
    records: {
      lastPolledAt: async (appId) => (await store.feedbackPolls.get(appId))?.lastPollAt,
      recordPoll: (appId, at, summary) => store.feedbackPolls.record(appId, at, summary),
    },
    onError: (error, appId) => {
      logger.error(
        { appId, error: error instanceof Error ? error.message : String(error) },
        'feedback schedule error',
      );
    },
    ...(deps.tryClaim === undefined ? {} : { tryClaim: deps.tryClaim }),
    ...(deps.defaultIntervalHours === undefined ? {} : { defaultIntervalHours: deps.defaultIntervalHours }),
    ...(deps.schedulerClock === undefined ? {} : { clock: deps.schedulerClock }),
    ...(deps.random === undefined ? {} : { random: deps.random }),
    ...(deps.jitterRatio === undefined ? {} : { jitterRatio: deps.jitterRatio }),
  });
}
