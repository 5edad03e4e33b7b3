/**
 * `npm run bench:store`: bulk-import 1,000,000 devices, then stream them back as an `all`
 * audience, then invalidate every 10th, on SQLite and on PostgreSQL. Each phase runs in its own
 * child process so its peak RSS (getrusage maxrss) belongs to that phase alone. The children run
 * the compiled JavaScript of this file and the store (support.ts `compileForChild`), as an
 * installed Pushkeeper runs its build: Node's type stripping would otherwise keep ~35 MB resident
 * in every child. Prints a table of rows/s, CPU seconds and peak RSS; writes it to
 * docs/benchmarks.md unless BENCH_WRITE=0.
 *
 * Targets: import ≥ 100,000 devices/s on SQLite; streaming ≥ 500,000/s on SQLite and ≥ 200,000/s
 * on PostgreSQL; peak RSS < 150 MB while streaming 1,000,000.
 *
 * Options (env, bench-only): BENCH_DEVICES (default 1000000), BENCH_PG_ADMIN_URL
 * (default postgres://postgres@127.0.0.1:5432/test), BENCH_ONLY=sqlite|postgres, BENCH_WRITE=0,
 * BENCH_PHASES (default import,stream,invalidate; import always runs), BENCH_STREAM_RUNS (default 1:
 * stream phases one after another, to see their spread), BENCH_STREAM_PAGE_SQLITE /
 * BENCH_STREAM_PAGE_POSTGRES (rows per audience page), BENCH_MEMORY=1 (each phase prints its
 * memory by part on stderr, at its start and end).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceToken } from '../src/domain/index.ts';
import type { DeviceInput } from '../src/store/index.ts';
import { SERVICE_NODE_FLAGS as PRODUCT_NODE_FLAGS } from '../src/cli/service-node-flags.ts';
import { openStore } from '../src/store/index.ts';

/** The service's own V8 flags, as an installed `pushkeeper` runs; BENCH_NODE_FLAGS overrides them. */
const SERVICE_NODE_FLAGS = process.env['BENCH_NODE_FLAGS']?.split(' ').filter(Boolean) ?? PRODUCT_NODE_FLAGS;

type Phase = 'import' | 'stream' | 'invalidate';
const PHASES: readonly Phase[] = (process.env['BENCH_PHASES'] ?? 'import,stream,invalidate')
  .split(',')
  .filter((phase): phase is Phase => phase === 'stream' || phase === 'invalidate')
  .flatMap((phase) =>
    phase === 'stream' ? Array<Phase>(Number(process.env['BENCH_STREAM_RUNS'] ?? 1)).fill(phase) : [phase],
  );

interface PhaseResult {
  readonly phase: Phase;
  readonly rows: number;
  readonly seconds: number;
  readonly peakRssMb: number;
  /** Peak RSS before the phase began (runtime, modules, open store). */
  readonly startRssMb: number;
  /** CPU seconds (user + system) of the phase: steadier than wall time on a shared machine. */
  readonly cpuSeconds: number;
}

const DEVICES = Number(process.env['BENCH_DEVICES'] ?? 1_000_000);
const SECRET = Buffer.alloc(32, 7);

/** murmur3's 32-bit finaliser: spreads consecutive integers over the whole range. */
function mix(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const tokenWords = Buffer.alloc(32);

/**
 * A distinct, random-looking 64-hex-digit token per i: real tokens arrive in no particular order.
 * Built through a Buffer: string padding cost ~6 µs a token, which the import's timing included.
 */
function token(i: number): string {
  for (let word = 0; word < 8; word++) tokenWords.writeUInt32BE(mix(i * 8 + word + 0x9e3779b9), word * 4);
  return tokenWords.toString('hex');
}

/**
 * Rows per audience page. Each page is one query: PostgreSQL pays a network round trip per page,
 * so it streams faster with larger pages; SQLite's pages are in-process calls, and smaller pages
 * keep the garbage per page (and so the heap) small.
 */
const STREAM_PAGE: Record<string, number> = {
  sqlite: Number(process.env['BENCH_STREAM_PAGE_SQLITE'] ?? 250),
  postgres: Number(process.env['BENCH_STREAM_PAGE_POSTGRES'] ?? 5000),
};
/** Rows per import transaction: the store's largest (each commit rewrites the index pages it touched). */
const IMPORT_BATCH = 100_000;

/** BENCH_MEMORY=1: where a phase's resident memory is, by part, on stderr. */
function reportMemory(when: string): void {
  const mb = (bytes: number) => Math.round(bytes / 1048576);
  const m = process.memoryUsage();
  const modules = Object.keys((globalThis as { require?: { cache: object } }).require?.cache ?? {}).length;
  const status = readFileSync('/proc/self/status', 'utf8');
  const kinds = ['RssAnon', 'RssFile', 'RssShmem']
    .map(
      (kind) =>
        `${kind} ${Math.round(Number(new RegExp(`${kind}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024)}`,
    )
    .join(', ');
  process.stderr.write(
    `${when}: rss ${mb(m.rss)} MB (peak ${mb(process.resourceUsage().maxRSS * 1024)}), heap used ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)}, array buffers ${mb(m.arrayBuffers)}; ${kinds}${modules ? `, ${modules} CJS modules` : ''}\n`,
  );
}

async function child(phase: Phase, url: string, appId: string): Promise<void> {
  const store = openStore({ url, secretKey: SECRET });
  await store.ping();
  const startRssMb = process.resourceUsage().maxRSS / 1024;
  if (process.env['BENCH_MEMORY'] === '1') reportMemory(`${phase} start`);
  const startCpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let rows = 0;
  if (phase === 'import') {
    function* inputs(): Iterable<DeviceInput> {
      for (let i = 0; i < DEVICES; i++) {
        yield {
          token: token(i),
          environment: i % 10 === 0 ? 'sandbox' : 'production',
          alias: `user${i % 250_000}`,
        };
      }
    }
    // Large transactions: each commit rewrites the index pages it touched (docs/store.md).
    const result = await store.devices.import(appId, inputs(), { batchSize: IMPORT_BATCH });
    if (!result.ok) throw new Error(JSON.stringify(result.error));
    rows = result.value.created + result.value.updated;
  } else if (phase === 'stream') {
    for await (const page of store.devices.streamAudience(
      appId,
      { all: true },
      { pageSize: STREAM_PAGE[store.kind] ?? 1000 },
    )) {
      rows += page.devices.length;
    }
  } else {
    // The feedback service's worst case: one report for every 10th device, all newer than the
    // registrations, so each one removes a device and writes an invalidation record.
    const at = new Date(Date.now() + 60_000);
    function* reports() {
      for (let i = 0; i < DEVICES; i += 10) {
        yield {
          token: token(i) as DeviceToken,
          reason: 'feedback-service',
          source: 'feedback-service' as const,
          at,
        };
      }
    }
    const counts = await store.invalidations.invalidateMany(appId, reports());
    rows = counts.removed;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (process.env['BENCH_MEMORY'] === '1') reportMemory(`${phase} end`);
  const cpu = process.cpuUsage(startCpu);
  await store.close();
  const result: PhaseResult = {
    phase,
    rows,
    seconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    startRssMb,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runPhase(childEntry: string, phase: Phase, url: string, appId: string): PhaseResult {
  const out = spawnSync(process.execPath, [...SERVICE_NODE_FLAGS, childEntry, 'child', phase, url, appId], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (out.status !== 0) throw new Error(`${phase} child failed (${out.status})`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as PhaseResult;
}

async function prepare(url: string): Promise<string> {
  const store = openStore({ url, secretKey: SECRET });
  await store.migrate();
  const app = await store.apps.create({
    name: 'Bench',
    topic: 'com.example.bench',
    credentials: { auth: 'token', teamId: 'TEAM', keyId: 'KEY', privateKey: 'PEM' },
  });
  await store.close();
  if (!app.ok) throw new Error(JSON.stringify(app.error));
  return app.value.id;
}

async function main(): Promise<void> {
  // Loaded here, not at the top: the phase processes run this file too, and should hold only what a
  // store process holds (support.ts brings `pg` and the TypeScript compiler's loader).
  const { default: pg } = await import('pg');
  const { compileForChild, cpuYardstickSeconds, writeBenchSection } = await import('./support.ts');
  const yardstickBefore = cpuYardstickSeconds();
  const rows: (PhaseResult & { database: string })[] = [];
  const only = process.env['BENCH_ONLY'];
  const build = await compileForChild(import.meta.filename);
  try {
    if (only !== 'postgres') {
      const dir = mkdtempSync(join(tmpdir(), 'pk-bench-store-'));
      try {
        const url = `sqlite:${join(dir, 'bench.db')}`;
        const appId = await prepare(url);
        for (const phase of ['import' as const, ...PHASES])
          rows.push({ database: 'sqlite', ...runPhase(build.entry, phase, url, appId) });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    if (only !== 'sqlite') {
      const adminUrl = process.env['BENCH_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
      const name = `pk_bench_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`create database ${name}`);
      try {
        const url = new URL(adminUrl);
        url.pathname = `/${name}`;
        const appId = await prepare(url.toString());
        for (const phase of ['import' as const, ...PHASES]) {
          rows.push({ database: 'postgres', ...runPhase(build.entry, phase, url.toString(), appId) });
        }
      } finally {
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    }
  } finally {
    build.dispose();
  }
  const targets: Record<string, string> = {
    'sqlite import': '≥ 100,000/s',
    'sqlite stream': '≥ 500,000/s, < 150 MB',
    'postgres stream': '≥ 200,000/s, < 150 MB',
    'sqlite invalidate': '100k in ≤ 3 s',
  };
  const target = (r: (typeof rows)[number]) => targets[`${r.database} ${r.phase}`] ?? '—';
  const what = (r: (typeof rows)[number]) =>
    r.phase === 'import'
      ? `import (batches of ${IMPORT_BATCH.toLocaleString('en')})`
      : r.phase === 'stream'
        ? `stream \`all\` (pages of ${(STREAM_PAGE[r.database] ?? 1000).toLocaleString('en')})`
        : 'invalidate every 10th (one call)';
  const table = [
    `${DEVICES.toLocaleString('en')} devices with hash-spread tokens; each phase in its own process running the compiled sources; peak RSS is the phase process's (getrusage), "before" is its RSS once the store was open.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z, load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' / ')} at the end; a fixed CPU loop (bench/support.ts) took ${yardstickBefore.toFixed(2)} s before and ${cpuYardstickSeconds().toFixed(2)} s after (compare it between tables: on a shared VM rates scale with it).`,
    '',
    '| database | phase | rows | seconds | rows/s | CPU s | target | peak RSS MB | RSS before MB |',
    '|---|---|---:|---:|---:|---:|---|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.database} | ${what(r)} | ${r.rows.toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${Math.round(r.rows / r.seconds).toLocaleString('en')} | ${r.cpuSeconds.toFixed(1)} | ${target(r)} | ${r.peakRssMb.toFixed(0)} | ${r.startRssMb.toFixed(0)} |`,
    ),
  ].join('\n');
  console.log(`\nstore benchmark\n\n${table}\n`);
  if (process.env['BENCH_WRITE'] !== '0') writeBenchSection('store', 'Device registry store', `${table}\n`);
}

if (process.argv[2] === 'child') {
  await child(process.argv[3] as Phase, process.argv[4]!, process.argv[5]!);
} else {
  await main();
}
