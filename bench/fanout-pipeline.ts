/**
 * One pipeline run in its own process (so its RSS is its own):
 * `node bench/fanout-pipeline.ts <mockUrl> <caFile> <count> <databaseUrl> <seed|run> <secretKeyHex>`.
 * `seed` (a process of its own, so the bulk import's memory is not counted) creates the app and
 * imports `count` devices, printing `{appId}`; `run` times a broadcast to that app from accept to
 * `done` through the whole pipeline: store, queue, fan-out, send batches, outcomes. One JSON line.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApnsAgent } from '../src/providers/apns/index.ts';
import { EmbeddedJobQueue, type JobQueue, PgBossJobQueue } from '../src/queue/index.ts';
import { createAgentGateway } from '../src/service/apns-gateway.ts';
import { silentLogger } from '../src/service/logger.ts';
import { startPipeline } from '../src/service/pipeline.ts';
import { openStore, sqlitePathFromUrl } from '../src/store/index.ts';

const [url = '', caFile = '', countText = '100000', databaseUrl = '', mode = 'run', secretHex = ''] = process.argv.slice(2);
const count = Number(countText);
const caPem = readFileSync(caFile, 'utf8');
const store = openStore({ url: databaseUrl, secretKey: Buffer.from(secretHex, 'hex') });
await store.migrate();
if (mode === 'seed') {
  const { generateKeyPairSync } = await import('node:crypto');
  const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const app = await store.apps.create({
    name: 'bench',
    topic: 'com.example.bench',
    credentials: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEY1234567', privateKey },
    endpoints: { production: url, sandbox: url, caPem },
  });
  if (!app.ok) throw new Error(app.error.message);
  function* devices() {
    for (let i = 0; i < count; i++) yield { token: randomBytes(32).toString('hex'), environment: 'production' };
  }
  const imported = await store.devices.import(app.value.id, devices(), { batchSize: 50_000 });
  if (!imported.ok) throw new Error(imported.error.message);
  await store.close();
  process.stdout.write(`${JSON.stringify({ appId: app.value.id })}\n`);
  process.exit(0);
}
const sqlitePath = sqlitePathFromUrl(databaseUrl);
const queue: JobQueue =
  sqlitePath !== null
    ? new EmbeddedJobQueue({ path: sqlitePath, synchronous: 'NORMAL' })
    : new PgBossJobQueue({ connectionString: databaseUrl });
await queue.start();
const gateway = createAgentGateway({ agent: new ApnsAgent() });
const pipeline = await startPipeline({
  store,
  queue,
  gateway,
  logger: silentLogger,
  work: true,
  ...(process.env['BENCH_BATCH_SIZE'] ? { batchSize: Number(process.env['BENCH_BATCH_SIZE']) } : {}),
  workerConcurrency: Number(process.env['BENCH_WORKER_CONCURRENCY'] ?? 4),
  sendJobsPerFetch: Number(process.env['BENCH_JOBS_PER_FETCH'] ?? 1),
});
const apps = await store.apps.list({ limit: 1 });
const appId = apps.ok ? (apps.value.items[0]?.id ?? '') : '';

/**
 * One broadcast from accept to `done`. The driver reads PostgreSQL's backends' CPU between the
 * `start` line printed here and the result line (bench/fanout.ts), so the line goes out just before
 * the accept.
 */
async function broadcast(round: number) {
  const rss: { progress: number; mb: number }[] = [];
  let peak = process.memoryUsage().rss;
  process.stdout.write(`${JSON.stringify({ event: 'start', round })}\n`);
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const accepted = await pipeline.push.accept(appId, {
    audience: { all: true },
    payload: { aps: { alert: { title: 'Benchmark', body: 'Hello from the benchmark' }, badge: 1 } },
  });
  if (!accepted.ok) throw new Error(accepted.error.message);
  const id = accepted.value.notification.id;
  let notification = accepted.value.notification;
  while (notification.status !== 'done' && notification.status !== 'failed') {
    await new Promise((resolve) => setTimeout(resolve, 100));
    notification = (await store.notifications.get(appId, id)) ?? notification;
    const now = process.memoryUsage().rss;
    peak = Math.max(peak, now);
    const done = notification.counts.accepted + notification.counts.rejected + notification.counts.failed + notification.counts.invalidated;
    rss.push({ progress: done / count, mb: Math.round(now / 1048576) });
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  // The kernel's high-water mark too: a peak between two samples counts.
  peak = Math.max(peak, process.resourceUsage().maxRSS * 1024);
  const at = (fraction: number) => rss.find((sample) => sample.progress >= fraction)?.mb ?? null;
  process.stdout.write(
    `${JSON.stringify({
      event: 'result',
      round,
      status: notification.status,
      count,
      counts: notification.counts,
      ms: Math.round(ms),
      perSecond: Math.round((count / ms) * 1000),
      peakRssMb: Math.round(peak / 1048576),
      cpuMsPerThousand: Math.round(((cpu.user + cpu.system) / 1000 / count) * 1000),
      cpuUsPerDevice: Number(((cpu.user + cpu.system) / count).toFixed(1)),
      rssAt10: at(0.1),
      rssAt50: at(0.5),
      rssAt90: at(0.9),
    })}\n`,
  );
}

// Round 1: every device's last_success_at is unset, so every one is written. Round 2: the same
// broadcast again the same day, as a daily or hourly push finds the registry (coarse marks: none).
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);
for (let round = 1; round <= rounds; round += 1) await broadcast(round);
// Held open until the driver has read the database's CPU (it closes our stdin): closing the store
// ends the backends whose counters it reads.
process.stdin.resume();
await new Promise((resolve) => process.stdin.once('end', resolve).once('close', resolve));
await queue.close();
await gateway.close();
await store.close();
process.exit(0);
