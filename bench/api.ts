/**
 * `npm run bench:api`: autocannon against `PUT /v1/apps/:app/devices/:token` with a distinct token
 * per request (every request is a real insert), on SQLite and on PostgreSQL, each beside a minimal
 * durable route on the same database in the same run:
 *
 * - the minimal durable route: bare Fastify, the same path, and one prepared upsert of the device
 *   with the same commit guarantee (SQLite: the same file, WAL, synchronous=NORMAL, committed before
 *   the answer; PostgreSQL: the same server and database, synchronous_commit on). No authentication,
 *   no validation, no access log: what a registration cannot cost less than on that database.
 * - `PUT …` on bare Fastify answering `{"ok":true}` without a database: the very requests the
 *   registration gets, to show what the load generator and Fastify cost before any of our work.
 *
 * Target: registration ≥ 60% of the minimal durable route's requests/s on each database, p99 ≤ 25 ms.
 *
 * Tokens are random 32 bytes, spread over the key space like real APNs tokens: counting tokens
 * would be inserted in index order and flatter both databases. Requests are logged as in
 * production. The targets run in rounds, in reverse order every other round, so background load on
 * a shared machine weighs on all of them alike; each target's figures add up its rounds (p99: the
 * worst round). The server's CPU time per request is measured too (on PostgreSQL its backends'
 * as well, from /proc: bench/pg-backend-cpu.ts): unlike requests/s it hardly depends on what else runs.
 *
 * The load generator runs in a child process so it does not share an event loop with the server
 * (on a 2-core machine it still shares the CPU: compare the rows, not absolute numbers).
 *
 * Options (env, bench-only): BENCH_SECONDS per target (default 10), BENCH_ROUNDS (default 2),
 * BENCH_CONNECTIONS (default 10), BENCH_DATABASES (default `sqlite,postgres`), BENCH_WRITE=0 to skip
 * writing docs/benchmarks.md, BENCH_ONLY=registration to load only the SQLite registration route
 * (for `--cpu-prof`: the profile then holds nothing but the registration's work; prints the row,
 * writes nothing).
 */
import { ApnsAgent } from '../src/providers/apns/index.ts';
import { createAppService, createKeyService } from '../src/service/apps.ts';
import { createAgentGateway } from '../src/service/apns-gateway.ts';
import { silentLogger } from '../src/service/logger.ts';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createLogger } from '../src/cli/runtime.ts';
import { loadConfig } from '../src/config/index.ts';
import { fail, problem } from '../src/domain/index.ts';
import { buildApp, generateApiKey, hashApiKey } from '../src/http/index.ts';
import { openStore } from '../src/store/index.ts';
import { minimalDurableRoute } from './api-minimal-route.ts';
import { BackendCpu } from './pg-backend-cpu.ts';
import { createBenchDatabase, writeBenchSection } from './support.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 2));
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 10);
const ONLY_REGISTRATION = process.env['BENCH_ONLY'] === 'registration';
/** Not measured: JIT warm-up and the first statements' preparation. */
const WARMUP_SECONDS = 1;

type LoadResult = Awaited<ReturnType<typeof autocannon>>;

interface LoadJob {
  readonly kind: 'get' | 'register';
  readonly url: string;
  readonly seconds: number;
  readonly appId?: string;
  readonly key?: string;
}

/**
 * Random tokens from a pool refilled 4,096 at a time, and one body per alias, made before they are
 * needed: the load generator's own cost per request stays as small as autocannon allows.
 */
function registrationRequests(job: LoadJob) {
  const bodies = Array.from({ length: 1000 }, (_, n) =>
    JSON.stringify({ environment: 'production', alias: `user${n}`, tags: ['bench'] }),
  );
  const prefix = `/v1/apps/${job.appId}/devices/`;
  let pool = randomBytes(32 * 4096);
  let next = 0;
  return {
    method: 'PUT',
    headers: { authorization: `Bearer ${job.key}`, 'content-type': 'application/json' },
    setupRequest: (request: object) => {
      const slot = next % 4096;
      if (slot === 0 && next > 0) pool = randomBytes(32 * 4096);
      next += 1;
      return {
        ...request,
        path: prefix + pool.toString('hex', slot * 32, slot * 32 + 32),
        body: bodies[next % 1000]!,
      };
    },
  };
}

/** In the child: one autocannon run. */
function load(job: LoadJob): Promise<LoadResult> {
  const common = { url: job.url, connections: CONNECTIONS, duration: job.seconds };
  if (job.kind === 'get') return autocannon(common);
  return autocannon({ ...common, requests: [registrationRequests(job)] });
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

interface Target {
  readonly label: string;
  readonly job: Omit<LoadJob, 'seconds'>;
  requests: number;
  seconds: number;
  cpuMicros: number;
  databaseCpuMicros: number;
  p50Weighted: number;
  p99Worst: number;
  non2xx: number;
  errors: number;
}

interface Served {
  readonly label: string;
  readonly targets: Target[];
  readonly databaseUrl: string | null;
  close(): Promise<void>;
}

/** Our API on a store of `kind`, and the minimal durable route on the same database. */
async function serveOn(kind: 'sqlite' | 'postgres', dir: string): Promise<Served> {
  const database = kind === 'postgres' ? await createBenchDatabase() : null;
  const file = join(dir, `${kind}.db`);
  const url = database?.url ?? `sqlite:${file}`;
  const store = openStore({ url, secretKey: randomBytes(32) });
  await store.migrate();
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, rateLimitPerKey: 1_000_000 } });
  // Requests are logged as in production (serve's logger: info, redaction, synchronous writes),
  // into /dev/null instead of stdout.
  const logger = createLogger(
    config,
    pino.destination({ dest: '/dev/null', sync: true }) as unknown as NodeJS.WritableStream,
  );
  const unavailable = async () => fail(problem('PK_ERR_UNAVAILABLE', 'Not part of this benchmark.'));
  const app = await buildApp({
    store,
    // Apps are created directly in the store below; the benchmark never sends or verifies.
    apps: createAppService({ store, gateway: createAgentGateway({ agent: new ApnsAgent() }), logger: silentLogger }),
    keys: createKeyService({ store }),
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
  const stored = await store.keys.create({ appId, scope: 'server', prefix: key.displayPrefix, sha256: key.sha256 });
  if (!stored.ok) throw new Error(JSON.stringify(stored.error));
  const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const minimal = await minimalDurableRoute(kind === 'postgres' ? { postgres: url } : { sqlite: file });
  const name = kind === 'postgres' ? 'PostgreSQL' : 'SQLite';
  return {
    label: name,
    databaseUrl: database?.url ?? null,
    targets: [
      target(`minimal durable PUT: bare Fastify + one prepared upsert (${name})`, { kind: 'register', url: minimal.url, appId, key: key.secret }),
      target(`PUT /v1/apps/:app/devices/:token (${name})`, { kind: 'register', url: apiUrl, appId, key: key.secret }),
    ],
    async close() {
      await app.close();
      await minimal.close();
      await store.close();
      await database?.drop();
    },
  };
}

function target(label: string, job: Omit<LoadJob, 'seconds'>): Target {
  return { label, job, requests: 0, seconds: 0, cpuMicros: 0, databaseCpuMicros: 0, p50Weighted: 0, p99Worst: 0, non2xx: 0, errors: 0 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pk-bench-api-'));
  const kinds = (process.env['BENCH_DATABASES'] ?? (ONLY_REGISTRATION ? 'sqlite' : 'sqlite,postgres'))
    .split(',')
    .filter((k): k is 'sqlite' | 'postgres' => k === 'sqlite' || k === 'postgres');
  const served: Served[] = [];
  for (const kind of kinds) served.push(await serveOn(kind, dir));
  const bareServer = Fastify({ logger: false });
  bareServer.put('/v1/apps/:app/devices/:token', async () => ({ ok: true }));
  const bareUrl = await bareServer.listen({ host: '127.0.0.1', port: 0 });
  const first = served[0]!.targets[0]!.job;
  const bare = target('PUT …/devices/:token, bare Fastify, no database (same requests)', { ...first, url: bareUrl });
  const groups: { served: Served | null; targets: Target[] }[] = [
    ...(ONLY_REGISTRATION ? [] : [{ served: null, targets: [bare] }]),
    ...served.map((s) => ({ served: s, targets: ONLY_REGISTRATION ? s.targets.slice(1) : s.targets })),
  ];
  const all = groups.flatMap((g) => g.targets.map((t) => ({ t, served: g.served })));

  const loadBefore = loadavg()[0]!;
  for (const { t } of all) await loadInChild({ ...t.job, seconds: WARMUP_SECONDS });
  const seconds = SECONDS / ROUNDS;
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const { t, served: s } of round % 2 === 0 ? all : [...all].reverse()) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}: ${t.label}, ${seconds}s, ${CONNECTIONS} connections…\n`);
      const backends = s?.databaseUrl ? await BackendCpu.open(s.databaseUrl) : null;
      await backends?.begin();
      const cpuBefore = process.cpuUsage();
      const result = await loadInChild({ ...t.job, seconds });
      const cpu = process.cpuUsage(cpuBefore);
      if (backends !== null) {
        t.databaseCpuMicros += (await backends.end()) * 1e6;
        await backends.close();
      }
      t.requests += result.requests.total;
      t.seconds += seconds;
      t.cpuMicros += cpu.user + cpu.system;
      t.p50Weighted += result.latency.p50 * result.requests.total;
      t.p99Worst = Math.max(t.p99Worst, result.latency.p99);
      t.non2xx += result.non2xx;
      t.errors += result.errors + result.timeouts;
    }
  }
  const loadAfter = loadavg()[0]!;
  for (const s of served) await s.close();
  await bareServer.close();
  rmSync(dir, { recursive: true, force: true });

  const perSecond = (t: Target) => Math.round(t.requests / Math.max(1, t.seconds));
  const perRequest = (micros: number, t: Target) => Math.round(micros / Math.max(1, t.requests));
  const rows = all.map(
    ({ t, served: s }) =>
      `| ${t.label} | ${perSecond(t).toLocaleString('en-US')} | ${Math.round(t.p50Weighted / Math.max(1, t.requests))} | ${t.p99Worst} | ${perRequest(t.cpuMicros, t)} | ${s?.databaseUrl ? perRequest(t.databaseCpuMicros, t) : '–'} | ${t.non2xx} | ${t.errors} |`,
  );
  if (ONLY_REGISTRATION) {
    console.log(`\n${rows.join('\n')}\n`);
    return;
  }
  const ratios = served.map((s) => {
    const [minimal, registration] = s.targets as [Target, Target];
    return `- ${s.label}: registration ÷ minimal durable route **${((perSecond(registration) / Math.max(1, perSecond(minimal))) * 100).toFixed(0)}%** (target ≥ 60%); registration p99 **${registration.p99Worst} ms** (target ≤ 25 ms)`;
  });
  const table = [
    `${CONNECTIONS} connections, ${SECONDS} s per target in ${ROUNDS} rounds (order reversed every other round), after a ${WARMUP_SECONDS} s warm-up each; distinct random tokens, every registration a new device with an alias and a tag; requests logged as in production. Load generator (autocannon) in a child process. 1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z.`,
    '',
    '| target | requests/s | p50 ms | p99 ms (worst round) | server process CPU µs/request | PostgreSQL backends CPU µs/request | non-2xx | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    ...ratios,
  ].join('\n');
  console.log(`\n${table}\n`);
  if (process.env['BENCH_WRITE'] !== '0') writeBenchSection('api', 'HTTP API', table);
}

if (process.argv[2] === 'load') {
  const result = await load(JSON.parse(process.argv[3]!) as LoadJob);
  const { requests, latency, non2xx, errors, timeouts } = result;
  process.stdout.write(JSON.stringify({ requests, latency, non2xx, errors, timeouts }));
} else {
  await main();
}
