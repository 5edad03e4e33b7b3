/**
 * `npm run bench:latency`: how long a small push waits between the API's 202 and its first
 * request at APNs. 1,000 single-alias pushes (2 devices each) at a steady 50/s through the HTTP API
 * of real `pushkeeper` processes to the mock APNs server (own process, recording arrival times):
 * embedded mode (one `serve` on SQLite) and cluster mode (`serve --api-only` + 2 `worker`s on
 * PostgreSQL). Targets: p50 ≤ 25 ms embedded, ≤ 50 ms cluster; p99 ≤ 100 ms and ≤ 200 ms.
 *
 * Environment: BENCH_PUSHES (1000), BENCH_RATE (50/s), BENCH_MODES (embedded,cluster), BENCH_WRITE=0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { apnsIdFor } from '../src/service/apns-id.ts';
import { createBenchDatabase, firstLine, ROOT, writeBenchSection } from './support.ts';

const root = ROOT;
const node = process.execPath;
const pushes = Number(process.env['BENCH_PUSHES'] ?? 1000);
const rate = Number(process.env['BENCH_RATE'] ?? 50);
const modes = (process.env['BENCH_MODES'] ?? 'embedded,cluster').split(',');
const adminToken = `pk_admin_${randomBytes(24).toString('hex')}`;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForReady(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

async function api(base: string, key: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path} → ${response.status} ${text}`);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface ModeResult {
  mode: string;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  acceptP50: number;
  samples: number;
}

async function runMode(mode: string, mock: { url: string; caPem: string; controlUrl: string }): Promise<ModeResult> {
  const dir = mkdtempSync(join(tmpdir(), `pk-bench-latency-${mode}-`));
  const children: ChildProcess[] = [];
  let dropDatabase = async () => {};
  try {
    let databaseUrl = `sqlite:${join(dir, 'pushkeeper.db')}`;
    if (mode === 'cluster') {
      const database = await createBenchDatabase();
      databaseUrl = database.url;
      dropDatabase = () => database.drop();
    }
    const port = await freePort();
    const env = {
      ...process.env,
      PUSHKEEPER_DATA_DIR: dir,
      PUSHKEEPER_DATABASE_URL: databaseUrl,
      PUSHKEEPER_PORT: String(port),
      PUSHKEEPER_ADMIN_TOKEN: adminToken,
      PUSHKEEPER_SECRET_KEY: randomBytes(32).toString('hex'),
      PUSHKEEPER_LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
    };
    const cli = join(root, 'src/cli/main.ts');
    const spawnCli = (args: string[]) => {
      const child = spawn(node, [cli, ...args], { env, stdio: ['ignore', process.env['BENCH_LOG_LEVEL'] ? 'inherit' : 'ignore', 'inherit'] });
      children.push(child);
    };
    if (mode === 'cluster') {
      // Migrate once before three processes start, so none races the others' first start.
      await new Promise<void>((resolve, reject) => {
        const child = spawn(node, [cli, 'migrate'], { env, stdio: 'ignore' });
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrate exited ${code}`))));
      });
      spawnCli(process.env['BENCH_API_WORKS'] === '1' ? ['serve'] : ['serve', '--api-only']);
      for (let w = 0; w < Number(process.env['BENCH_WORKERS'] ?? 2); w++) spawnCli(['worker']);
    } else {
      spawnCli(['serve']);
    }
    const base = `http://127.0.0.1:${port}`;
    await waitForReady(base);
    const created = await api(base, adminToken, 'POST', '/v1/apps', {
      name: 'latency',
      topic: 'com.example.latency',
      apns: {
        auth: 'token',
        teamId: 'TEAM123456',
        keyId: 'KEY1234567',
        privateKey: (await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      },
      endpoints: { production: mock.url, sandbox: mock.url, caPem: mock.caPem },
    });
    const appId = String(created['id']);
    const key = String(created['apiKey']);
    const tokensOf = new Map<string, string[]>();
    for (let user = 0; user < pushes; user++) {
      const tokens = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
      tokensOf.set(String(user), tokens);
      for (const token of tokens) {
        await api(base, key, 'PUT', `/v1/apps/${appId}/devices/${token}`, { environment: 'production', alias: String(user) });
      }
    }
    // Warm-up: connections to APNs, prepared statements, JIT.
    for (let i = 0; i < 20; i++) await api(base, key, 'POST', `/v1/apps/${appId}/notifications`, { audience: { alias: String(i) }, payload: { aps: { alert: 'warm-up' } } });
    await new Promise((r) => setTimeout(r, 1000));
    await fetch(`${mock.controlUrl}/reset`, { method: 'POST' });
    const sent: { id: string; user: string; requestAt: number; answeredAt: number }[] = [];
    const interval = 1000 / rate;
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < pushes; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const user = String(i);
      const requestAt = Date.now();
      inflight.push(
        api(base, key, 'POST', `/v1/apps/${appId}/notifications`, { audience: { alias: user }, payload: { aps: { alert: `message ${i}` } } }).then((answer) => {
          sent.push({ id: String(answer['id']), user, requestAt, answeredAt: Date.now() });
        }),
      );
    }
    await Promise.all(inflight);
    await new Promise((r) => setTimeout(r, 2000));
    const records = (await (await fetch(`${mock.controlUrl}/notifications`)).json()) as { items?: { apnsId: string; at: number }[] } | { apnsId: string; at: number }[];
    const list = Array.isArray(records) ? records : (records.items ?? []);
    const arrivals = new Map(list.map((r) => [r.apnsId, r.at]));
    const latencies: number[] = [];
    const acceptTimes: number[] = [];
    for (const push of sent) {
      const firsts = (tokensOf.get(push.user) ?? []).map((t) => arrivals.get(apnsIdFor(push.id, t))).filter((v): v is number => v !== undefined);
      acceptTimes.push(push.answeredAt - push.requestAt);
      if (firsts.length === 0) continue;
      latencies.push(Math.max(0, Math.min(...firsts) - push.answeredAt));
    }
    latencies.sort((a, b) => a - b);
    acceptTimes.sort((a, b) => a - b);
    return {
      mode,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
      acceptP50: percentile(acceptTimes, 50),
      samples: latencies.length,
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)))));
    await dropDatabase();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mockProcess = spawn(node, [join(root, 'bench/latency-mock.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
const results: ModeResult[] = [];
try {
  const mock = JSON.parse(await firstLine(mockProcess)) as { url: string; caPem: string; controlUrl: string };
  for (const mode of modes) {
    const result = await runMode(mode, mock);
    console.log(JSON.stringify(result));
    results.push(result);
  }
} finally {
  mockProcess.stdin?.end();
  mockProcess.kill('SIGTERM');
}
const targets: Record<string, [number, number]> = { embedded: [25, 100], cluster: [50, 200] };
const table = [
  `${pushes} pushes to one alias (2 devices each) at ${rate}/s through the HTTP API; latency = first request of the push at the mock APNs server minus the moment the client received the API's 202 (clamped at 0 when APNs got it first). Embedded: one \`serve\` on SQLite. Cluster: \`serve --api-only\` + 2 \`worker\` on PostgreSQL.`,
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z.`,
  '',
  '| mode | samples | p50 ms | p90 ms | p99 ms | max ms | target p50 / p99 | API answer p50 ms |',
  '|---|---:|---:|---:|---:|---:|---|---:|',
  ...results.map(
    (r) =>
      `| ${r.mode} | ${r.samples} | **${r.p50}** | ${r.p90} | **${r.p99}** | ${r.max} | ≤ ${targets[r.mode]?.[0]} / ≤ ${targets[r.mode]?.[1]} | ${r.acceptP50} |`,
  ),
].join('\n');
console.log(`\n${table}\n`);
if (process.env['BENCH_WRITE'] !== '0') writeBenchSection('latency', 'Push latency (accept → APNs)', table);
process.exit(0);
