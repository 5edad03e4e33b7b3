/**
 * `pushkeeper serve`: the API, the workers and the schedules in one process, and
 * `pushkeeper worker`: the workers and schedules only, for scaling out on PostgreSQL.
 * SIGTERM/SIGINT: stop accepting (503), let in-flight requests and jobs drain, exit 0.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp, buildMetricsApp } from '../../http/index.ts';
import { configFromCli } from '../config-from-cli.ts';
import { ensureWritableDirectories } from '../data-dir.ts';
import { createLogger, type Runtime, startRuntime } from '../runtime.ts';
import { resolveAdminToken } from '../secrets.ts';

export interface ServeFlags {
  config?: string;
  apiOnly?: boolean;
  port?: string;
  host?: string;
  databaseUrl?: string;
  dataDir?: string;
}

export function overrides(flags: ServeFlags) {
  return {
    port: flags.port === undefined ? undefined : Number(flags.port),
    host: flags.host,
    databaseUrl: flags.databaseUrl,
    dataDir: flags.dataDir,
  };
}

/**
 * First SIGTERM/SIGINT: drain and exit 0. A second signal, or a drain that outlives the shutdown
 * timeout by 5 s, exits 1 at once. Any failure inside the drain — even a synchronous one, such as a
 * log write to a closed pipe — ends in an exit, never in a process that ignores further signals.
 */
function onShutdownSignal(stop: (signal: string) => Promise<void>, timeoutMs: number): void {
  let stopping = false;
  const fail = (error: unknown) => {
    try {
      process.stderr.write(`pushkeeper: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
    } finally {
      process.exit(1);
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) {
        process.exit(1);
      }
      stopping = true;
      setTimeout(() => fail(new Error('draining took too long')), timeoutMs + 5_000).unref();
      Promise.resolve()
        .then(() => stop(signal))
        .then(() => process.exit(0), fail);
    });
  }
}

export async function serve(flags: ServeFlags): Promise<void> {
  const config = configFromCli(flags, overrides(flags));
  ensureWritableDirectories(config);
  const logger = createLogger(config);
  const admin = resolveAdminToken(config.dataDir, config.adminToken);
  if (admin.generated) logger.info({ path: admin.path }, `generated the admin API key; it is in ${admin.path}`);
  else if (admin.path) logger.info({ path: admin.path }, `admin API key: ${admin.path}`);
  let shuttingDown = false;
  const runtime: Runtime = await startRuntime(config, { logger, work: flags.apiOnly !== true });
  const app = await buildApp({
    store: runtime.store,
    apps: runtime.apps,
    keys: runtime.keys,
    push: runtime.pipeline.push,
    feedback: runtime.feedback,
    readiness: {
      async check() {
        const store = await runtime.store.ping().then(
          () => true,
          () => false,
        );
        const queue = await runtime.queue.depth().then(
          () => true,
          () => false,
        );
        return { store, queue };
      },
    },
    config,
    logger,
    metrics: { registry: runtime.observability.registry },
    adminTokenSha256: createHash('sha256').update(admin.value).digest('hex'),
    isShuttingDown: () => shuttingDown,
  });
  let metricsApp: FastifyInstance | undefined;
  // Before the first "listening" line: a supervisor (or a test) may send SIGTERM the moment it reads
  // it, and a signal that arrives before a handler exists kills the process without draining.
  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down: no new work, draining');
    shuttingDown = true;
    await app.close();
    await metricsApp?.close();
    await runtime.close();
    logger.info({}, 'stopped');
  }, config.shutdownTimeoutMs);
  const address = await app.listen({ port: config.port, host: config.host });
  logger.info({ address, database: config.databaseUrl.split(':')[0] }, `pushkeeper listening on ${address}`);
  if (config.metricsHost !== undefined && config.metricsPort !== undefined) {
    metricsApp = await buildMetricsApp({ metrics: { registry: runtime.observability.registry }, logger });
    const metricsAddress = await metricsApp.listen({ port: config.metricsPort, host: config.metricsHost });
    logger.info({ address: metricsAddress }, `metrics on ${metricsAddress}/metrics`);
  }
}

export async function worker(flags: ServeFlags): Promise<void> {
  const config = configFromCli(flags, overrides(flags));
  ensureWritableDirectories(config);
  const logger = createLogger(config);
  const runtime = await startRuntime(config, { logger, work: true });
  // A worker has no listening socket, and the queues' timers are unref'd: this keeps it running
  // until a signal says otherwise. The handler comes before the "started" line, as in serve.
  const keepAlive = setInterval(() => {}, 1 << 30);
  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down: draining jobs');
    clearInterval(keepAlive);
    await runtime.close();
  }, config.shutdownTimeoutMs);
  logger.info({ database: config.databaseUrl.split(':')[0] }, 'pushkeeper worker started');
}

export async function migrate(flags: ServeFlags & { json?: boolean }): Promise<void> {
  const { openConfiguredStore } = await import('../runtime.ts');
  const config = configFromCli(flags, overrides(flags));
  ensureWritableDirectories(config);
  const store = openConfiguredStore(config);
  try {
    const report = await store.migrate();
    if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else if (report.applied.length === 0) process.stdout.write(`database is up to date (${report.latest})\n`);
    else process.stdout.write(`applied ${report.applied.length} migration(s): ${report.applied.join(', ')}\n`);
  } finally {
    await store.close();
  }
}
