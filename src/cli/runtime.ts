/**
 * The composition root: real adapters wired from validated configuration. `serve` and `worker`
 * both start one; `serve` adds the HTTP API on top. Everything opened here is closed by `close()`,
 * in reverse order, after the queue has drained.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { ApnsAgent } from '../providers/apns/index.ts';
import type { Config } from '../config/index.ts';
import { EmbeddedJobQueue, type JobQueue, PgBossJobQueue } from '../queue/index.ts';
import { createAgentGateway } from '../service/apns-gateway.ts';
import { type AppService, createAppService, createKeyService, type KeyService } from '../service/apps.ts';
import type { FeedbackService } from '../service/contract.ts';
import { createFeedbackScheduler, createFeedbackService } from '../service/feedback-poll.ts';
import type { ServiceLogger } from '../service/logger.ts';
import { type Pipeline, startPipeline } from '../service/pipeline.ts';
import { openStore, type Store, sqlitePathFromUrl } from '../store/index.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { startObservability, type Observability } from './observability.ts';
import { stdoutLogDestination } from './log-destination.ts';
import { prettyDestination } from './log-pretty.ts';
import { resolveSecretKey } from './secrets.ts';

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  readonly queue: JobQueue;
  readonly pipeline: Pipeline;
  readonly feedback: FeedbackService;
  readonly apps: AppService;
  readonly keys: KeyService;
  readonly observability: Observability;
  /** Stops taking jobs, waits for in-flight work up to the shutdown timeout, closes everything. */
  close(): Promise<void>;
}

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  '*.privateKey',
  '*.keyPem',
  '*.certPem',
  '*.p12Base64',
  '*.passphrase',
  '*.secret',
  '*.apiKey',
  '*.publishableKey',
];

export function createLogger(config: Config, destination?: NodeJS.WritableStream): Logger {
  const target = (destination as pino.DestinationStream | undefined) ?? stdoutLogDestination();
  const colours = destination === undefined && process.stdout.isTTY === true && !process.env['NO_COLOR'];
  return pino(
    { level: config.logLevel, base: { service: 'pushkeeper' }, redact: { paths: REDACT, censor: '[redacted]' } },
    config.logFormat === 'pretty' ? prettyDestination(target, colours) : target,
  );
}

export function serviceLogger(logger: Logger): ServiceLogger {
  return {
    debug: (fields, message) => logger.debug(fields, message),
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
    error: (fields, message) => logger.error(fields, message),
  };
}

export function openConfiguredStore(config: Config, logger?: Logger): Store {
  const { key, secret } = resolveSecretKey(config.dataDir, config.secretKey);
  if (secret.generated && secret.path !== undefined) {
    // The path, never the key: back this file up, credentials cannot be decrypted without it.
    logger?.warn({ path: secret.path }, `generated the credentials encryption key; back up ${secret.path}`);
  }
  return openStore({ url: config.databaseUrl, secretKey: key });
}

export function openConfiguredQueue(config: Config, logger: Logger): JobQueue {
  const onError = (error: unknown) => logger.error({ error: error instanceof Error ? error.message : String(error) }, 'queue error');
  const sqlitePath = sqlitePathFromUrl(config.databaseUrl);
  // NORMAL, like the store: in WAL mode a commit survives a process kill (what a 2xx promises,
  // docs/store.md); FULL's extra fsync per job costs ten times the throughput (docs/queue.md).
  if (sqlitePath !== null) return new EmbeddedJobQueue({ path: sqlitePath, onError, synchronous: 'NORMAL' });
  // pg-boss's supervisor fails a job whose heartbeat lapsed; looking at least twice per heartbeat
  // interval keeps a killed worker's takeover near one interval (10 s supervision by default).
  const heartbeatSeconds = config.queueHeartbeatSeconds;
  return new PgBossJobQueue({
    connectionString: config.databaseUrl,
    onError,
    heartbeatSeconds,
    superviseIntervalSeconds: Math.min(10, Math.ceil(heartbeatSeconds / 2)),
  });
}

const FEEDBACK_PASS = 'pk.feedback';
const FEEDBACK_PASS_INTERVAL_MS = 5 * 60_000;

export async function startRuntime(config: Config, options: { logger: Logger; work: boolean }): Promise<Runtime> {
  const { logger } = options;
  const log = serviceLogger(logger);
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        logger.error({ error: error instanceof Error ? error.message : String(error) }, 'error while closing');
      }
    }
  };
  try {
    // One process per SQLite database: a second one exits here, naming the directory and the holder.
    const sqlitePath = sqlitePathFromUrl(config.databaseUrl);
    if (sqlitePath !== null) {
      const lock = lockDataDir(dirname(resolve(sqlitePath)));
      closers.push(() => lock.release());
    }
    const store = openConfiguredStore(config, logger);
    closers.push(() => store.close());
    const migrated = await store.migrate();
    if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'database migrated');
    const queue = openConfiguredQueue(config, logger);
    await queue.start();
    const observability = startObservability({ queue, logger: log });
    closers.push(() => observability.close());
    const ca = config.apnsCaFile === undefined ? undefined : readFileSync(config.apnsCaFile, 'utf8');
    const agent = new ApnsAgent({
      endpoints: {
        production: { origin: config.apnsProductionUrl, ...(ca ? { ca } : {}) },
        sandbox: { origin: config.apnsSandboxUrl, ...(ca ? { ca } : {}) },
      },
      client: {
        connections: config.apnsConnectionsPerClient,
        requestTimeoutMs: config.apnsRequestTimeoutMs,
        heartbeatMs: config.apnsHeartbeatMs,
        noStreamsTimeoutMs: config.apnsNoStreamsTimeoutMs,
        connectTimeoutMs: config.apnsConnectTimeoutMs,
      },
      idleClientMs: config.apnsClientIdleMs,
    });
    const gateway = createAgentGateway({ agent });
    // The shutdown timeout is shared: the queue drains for most of it, then the APNs connections get
    // the rest and any still stuck (mid-handshake, mid-stream) are destroyed, so SIGTERM ends in time.
    const agentDrainMs = Math.min(5_000, Math.floor(config.shutdownTimeoutMs / 4));
    closers.push(() => gateway.close({ timeoutMs: agentDrainMs }));
    // The queue drains before the gateway closes (closers run in reverse).
    closers.push(() =>
      queue.stop({ graceful: true, timeoutMs: config.shutdownTimeoutMs - agentDrainMs }).then(() => queue.close()),
    );
    const pipeline = await startPipeline({
      store,
      queue,
      gateway,
      logger: log,
      work: options.work,
      batchSize: config.batchSize,
      workerConcurrency: config.workerConcurrency,
      lastSuccessIntervalMs: config.lastSuccessIntervalHours * 3_600_000,
      maxRecipients: config.maxRecipientsPerRequest,
      invalidationRetentionDays: config.invalidationRetentionDays,
      notificationRetentionDays: config.notificationRetentionDays,
      guard: {
        thresholds: { fraction: config.guardFraction, minDevices: config.guardMinDevices },
        unreachableFailAfterMs: config.apnsUnreachableFailAfterMs,
      },
    });
    const feedbackDeps = {
      store,
      logger: log,
      onSummary: (summary: { removed: number; keptReregistered: number; malformed: number; tuplesRead: number }) =>
        observability.recordFeedbackPoll(summary),
    };
    const feedback = createFeedbackService(feedbackDeps);
    if (options.work) {
      // The schedule's passes run as a recurring queue job: once per interval across every process
      // on the database; each pass polls the apps whose interval has passed since their last poll.
      const scheduler = createFeedbackScheduler({
        ...feedbackDeps,
        defaultIntervalHours: config.feedbackIntervalHours,
        // Once per app and interval across every process on the database, even if passes overlap.
        tryClaim: (appId, slotStart) => store.feedbackPolls.claim(appId, slotStart),
      });
      closers.push(() => scheduler.close());
      await queue.work(FEEDBACK_PASS, { concurrency: 1 }, async () => {
        await scheduler.runDue();
      });
      await queue.schedule(FEEDBACK_PASS, FEEDBACK_PASS_INTERVAL_MS);
    }
    return {
      config,
      logger,
      store,
      queue,
      pipeline,
      feedback,
      apps: createAppService({ store, gateway, logger: log }),
      keys: createKeyService({ store }),
      observability,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
