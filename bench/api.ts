/**
 * `npm run bench:api` (issue 8): autocannon against `PUT /v1/apps/:app/devices/:token` with a
 * distinct token per request (every request is a real insert into SQLite) and against a trivial
 * Fastify route in the same process, same run. Prints requests/s and latency for both.
 *
 * Target: registration ≥ 50% of the trivial route's requests/s on SQLite, p99 ≤ 25 ms at that rate.
 *
 * The load generator runs in a child process so it does not share an event loop with the server
 * (on a 2-core machine it still shares the CPU: compare the two rows, not absolute numbers).
 *
 * Options (env, bench-only): BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 10).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config/index.ts';
import { fail, problem } from '../src/domain/index.ts';
import { buildApp, generateApiKey, hashApiKey } from '../src/http/index.ts';
import { openStore } from '../src/store/index.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 10);

type LoadResult = Awaited<ReturnType<typeof autocannon>>;

interface LoadJob {
  readonly kind: 'trivial' | 'register';
  readonly url: string;
  readonly appId?: string;
  readonly key?: string;
}

/** In the worker: one autocannon run, its result posted back. */
async function load(job: LoadJob): Promise<LoadResult> {
  if (job.kind === 'trivial')
    return autocannon({ url: job.url, connections: CONNECTIONS, duration: SECONDS });
  let next = 0;
  return autocannon({
    url: job.url,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${job.key}`, 'content-type': 'application/json' },
        setupRequest: (request) => {
          next += 1;
          return {
            ...request,
            path: `/v1/apps/${job.appId}/devices/${next.toString(16).padStart(64, '0')}`,
            body: JSON.stringify({ environment: 'production', alias: `user${next % 1000}`, tags: ['bench'] }),
          };
        },
      },
    ],
  });
}

/** A child process runs the load generator: autocannon aggregates results only on a main thread. */
function loadInChild(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [import.meta.filename, 'load', JSON.stringify(job)], (error, stdout) => {
      if (error) reject(error);
      else resolve(JSON.parse(stdout) as LoadResult);
    });
  });
}

interface Row {
  readonly target: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pk-bench-api-'));
  const store = openStore({ url: `sqlite:${join(dir, 'bench.db')}`, secretKey: randomBytes(32) });
  await store.migrate();
  // Requests are logged at info as in production, into /dev/null.
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, rateLimitPerKey: 1_000_000 } });
  const unavailable = async () => fail(problem('PK_ERR_UNAVAILABLE', 'Not part of this benchmark.'));
  const app = await buildApp({
    store,
    push: { accept: unavailable, cancel: async () => 'not-found' as const },
    feedback: { pollNow: unavailable },
    readiness: { check: async () => ({ store: true, queue: true }) },
    config,
    logger,
    metrics: { registry: new Registry() },
    adminTokenSha256: hashApiKey(randomBytes(32).toString('hex')),
    isShuttingDown: () => false,
  });
  const created = await store.apps.create({
    name: 'Bench',
    topic: 'com.example.bench',
    credentials: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: 'not used' },
  });
  if (!created.ok) throw new Error(JSON.stringify(created.error));
  const appId = created.value.id;
  const key = generateApiKey('server');
  const stored = await store.keys.create({
    appId,
    scope: 'server',
    prefix: key.displayPrefix,
    sha256: key.sha256,
  });
  if (!stored.ok) throw new Error(JSON.stringify(stored.error));
  const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });

  const trivial = Fastify({ logger: false });
  trivial.get('/trivial', async () => ({ ok: true }));
  const trivialUrl = await trivial.listen({ host: '127.0.0.1', port: 0 });

  const rows: Row[] = [];
  const record = (target: string, result: LoadResult) =>
    rows.push({
      target,
      requestsPerSecond: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
    });

  process.stderr.write(`trivial route: ${SECONDS}s, ${CONNECTIONS} connections…\n`);
  record('GET /trivial (bare Fastify)', await loadInChild({ kind: 'trivial', url: `${trivialUrl}/trivial` }));
  process.stderr.write(`device registration: ${SECONDS}s, ${CONNECTIONS} connections…\n`);
  record(
    'PUT /v1/apps/:app/devices/:token (SQLite)',
    await loadInChild({ kind: 'register', url: apiUrl, appId, key: key.secret }),
  );
  const devices = await store.devices.count(appId, { all: true });

  await app.close();
  await trivial.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });

  const [base, put] = [rows[0]!, rows[1]!];
  console.table(rows);
  const ratio = put.requestsPerSecond / base.requestsPerSecond;
  console.log(
    `registration / trivial = ${(ratio * 100).toFixed(1)}% (target ≥ 50%); registration p99 = ${put.p99Ms} ms (target ≤ 25 ms); ` +
      `${devices} devices stored`,
  );
}

if (process.argv[2] === 'load') {
  const result = await load(JSON.parse(process.argv[3]!) as LoadJob);
  const { requests, latency, non2xx, errors, timeouts } = result;
  process.stdout.write(JSON.stringify({ requests, latency, non2xx, errors, timeouts }));
} else {
  await main();
}
