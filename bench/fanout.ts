/**
 * `npm run bench:fanout`: a broadcast through the whole pipeline (store → queue → fan-out → send
 * batches → outcomes) to the mock APNs server in accept-all mode in its own process, beside the bare
 * APNs client sending the same count to the same mock in the same run, once before the pipeline and
 * once after (the ratio uses their mean; the devices are seeded and synced to disk before either).
 * Targets:
 * pipeline ≥ 75% of the bare client's throughput, pipeline process peak RSS ≤ 250 MB and flat.
 *
 * Both measured processes, the pipeline's and the bare client's, run as compiled JavaScript (tsc into
 * .bench-out/, like the installed `pushkeeper` runs dist/) with the same Node flags. Type stripping
 * alone costs a process that runs .ts sources ~35 MB. V8 sizes its young generation by the
 * allocation rate (two 64 MB semi-spaces at these rates) unless --max-semi-space-size caps it, and
 * lets the old generation grow to several times its live data when the heap limit is the machine's
 * default; an explicit --max-old-space-size lowers that factor. Measured on 1,000,000 devices: peak
 * RSS ~370 MB without flags, ~255 MB with the semi-space cap, ~185 MB with both, the last for ~2-5%
 * more CPU (docs/benchmarks.md).
 *
 * CPU per device: the pipeline process's own (user + system), and on PostgreSQL the database's
 * backends' too (bench/pg-backend-cpu.ts, from /proc), summed and set against the bare client's.
 * The pipeline process broadcasts twice (BENCH_ROUNDS): round 1 finds every device's
 * last_success_at unset and writes it; round 2 is the same broadcast again the same day, as a
 * daily push finds the registry (the coarse mark writes nothing).
 *
 * Environment: BENCH_SQLITE_COUNT (default 1,000,000), BENCH_PG_COUNT (200,000; 0 skips PostgreSQL),
 * BENCH_NODE_FLAGS (default: the service's own flags, src/cli/service-node-flags.ts, for both measured
 * processes), BENCH_ROUNDS (2), BENCH_BATCH_SIZE (devices per send job; default the service's),
 * BENCH_JOBS_PER_FETCH, BENCH_WORKER_CONCURRENCY,
 * BENCH_WRITE=0 to skip writing docs/benchmarks.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BackendCpu } from './pg-backend-cpu.ts';
import { createBenchDatabase, firstLine, ROOT, writeBenchSection } from './support.ts';
import { SERVICE_NODE_FLAGS } from '../src/cli/service-node-flags.ts';

const root = ROOT;
const node = process.execPath;
const sqliteCount = Number(process.env['BENCH_SQLITE_COUNT'] ?? 1_000_000);
const pgCount = Number(process.env['BENCH_PG_COUNT'] ?? 200_000);
/** The service's own V8 flags (src/cli/service-node-flags.ts) for both measured processes; BENCH_NODE_FLAGS overrides. */
const nodeFlags = process.env['BENCH_NODE_FLAGS']?.split(' ').filter(Boolean) ?? SERVICE_NODE_FLAGS;
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);

async function run(
  script: string,
  args: string[],
  flags: readonly string[] = [],
): Promise<Record<string, unknown>> {
  const child = spawn(node, [...flags, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const line = await firstLine(child);
  // A child closes its store after answering (a WAL checkpoint of a million outcomes takes a while):
  // the next measurement starts when it is gone, not while it still uses a core.
  await exited;
  return JSON.parse(line) as Record<string, unknown>;
}

type Line = Record<string, unknown>;

/**
 * The pipeline process: reads its `start` and `result` lines, and around each round the database's
 * backends' CPU (when `cpu` is given); closes its stdin after the last round, which lets it exit.
 */
async function runPipeline(
  script: string,
  args: string[],
  flags: readonly string[],
  rounds: number,
  cpu: BackendCpu | null,
): Promise<Line[]> {
  const child = spawn(node, [...flags, script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const results: Line[] = [];
  for await (const text of createInterface({ input: child.stdout! })) {
    const line = JSON.parse(text) as Line;
    if (line['event'] === 'start') await cpu?.begin();
    if (line['event'] !== 'result') continue;
    if (cpu !== null) line['databaseCpuUsPerDevice'] = Number((((await cpu.end()) * 1e6) / Number(line['count'])).toFixed(1));
    results.push(line);
    if (results.length === rounds) child.stdin!.end();
  }
  await exited;
  if (results.length !== rounds) throw new Error(`the pipeline process ended after ${results.length} of ${rounds} rounds`);
  return results;
}

/**
 * Compiles the two measured scripts (and the sources they import) to JavaScript under .bench-out/,
 * inside the repository so that their imports resolve to its node_modules.
 */
function compileMeasured(): { pipeline: string; client: string } {
  const out = join(root, '.bench-out', 'fanout');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: {
        noEmit: false,
        outDir: join(out, 'js'),
        rootDir: root,
        declaration: false,
        sourceMap: false,
      },
      files: [join(root, 'bench/fanout-pipeline.ts'), join(root, 'bench/apns-client.ts')],
      include: [],
    }),
  );
  execFileSync(node, [join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { stdio: 'inherit' });
  return { pipeline: join(out, 'js/bench/fanout-pipeline.js'), client: join(out, 'js/bench/apns-client.js') };
}

const measured = compileMeasured();
const loadBefore = loadavg()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'pk-bench-fanout-'));
const mock = spawn(node, [join(root, 'bench/apns-mock.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
const rows: string[] = [];
try {
  const { url, caPem } = JSON.parse(await firstLine(mock)) as { url: string; caPem: string };
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, caPem);
  const cases: {
    name: string;
    count: number;
    databaseUrl: () => Promise<{ url: string; drop(): Promise<void> }>;
  }[] = [];
  if (sqliteCount > 0) {
    cases.push({
      name: 'SQLite (embedded queue)',
      count: sqliteCount,
      databaseUrl: async () => ({ url: `sqlite:${join(dir, 'bench.db')}`, drop: async () => {} }),
    });
  }
  if (pgCount > 0) {
    cases.push({
      name: 'PostgreSQL (pg-boss)',
      count: pgCount,
      databaseUrl: createBenchDatabase,
    });
  }
  for (const c of cases) {
    const database = await c.databaseUrl();
    try {
      // Seeding runs in a process of its own: the bulk import's memory must not count against the
      // pipeline. Its dirty pages are written out before anything is measured (sync), so that
      // neither measured run shares the disk and CPU with the kernel's writeback of the import.
      const secret = randomBytes(32).toString('hex');
      await run(join(root, 'bench/fanout-pipeline.ts'), [
        url,
        caFile,
        String(c.count),
        database.url,
        'seed',
        secret,
      ]);
      execFileSync('sync');
      // The bare client runs before and after the pipeline: on a shared VM its rate moved by a third
      // from one run to the next, and the mean of two brackets the pipeline's minute.
      const before = await run(
        measured.client,
        ['pushkeeper', url, caFile, String(c.count), '1000', '2'],
        nodeFlags,
      );
      const cpu = database.url.startsWith('postgres') ? await BackendCpu.open(database.url) : null;
      let pipelineRounds: Line[];
      try {
        pipelineRounds = await runPipeline(
          measured.pipeline,
          [url, caFile, String(c.count), database.url, 'run', secret],
          nodeFlags,
          rounds,
          cpu,
        );
      } finally {
        await cpu?.close();
      }
      const after = await run(
        measured.client,
        ['pushkeeper', url, caFile, String(c.count), '1000', '2'],
        nodeFlags,
      );
      console.log(c.name, JSON.stringify({ before, pipelineRounds, after }));
      const bareRate = (Number(before['perSecond']) + Number(after['perSecond'])) / 2;
      // ms per 1,000 devices is µs per device.
      const bareCpu = (Number(before['cpuMsPerThousand']) + Number(after['cpuMsPerThousand'])) / 2;
      const peak = Math.max(Number(before['peakRssMb']), Number(after['peakRssMb']));
      for (const pipeline of pipelineRounds) {
        const ratio = Number(pipeline['perSecond']) / Math.max(1, bareRate);
        const own = Number(pipeline['cpuUsPerDevice']);
        const database = pipeline['databaseCpuUsPerDevice'] === undefined ? null : Number(pipeline['databaseCpuUsPerDevice']);
        const total = own + (database ?? 0);
        rows.push(
          `| ${c.name} | ${c.count.toLocaleString('en-US')} | ${pipeline['round'] === 1 ? '1 (every mark written)' : `${pipeline['round']} (same day)`} | ${Math.round(bareRate).toLocaleString('en-US')} (${Number(before['perSecond']).toLocaleString('en-US')} / ${Number(after['perSecond']).toLocaleString('en-US')}) | ${Number(pipeline['perSecond']).toLocaleString('en-US')} | **${(ratio * 100).toFixed(0)}%** | ${bareCpu.toFixed(1)} | ${own.toFixed(1)} | ${database === null ? 'in process' : database.toFixed(1)} | ${total.toFixed(1)} | **${(total / Math.max(0.1, bareCpu)).toFixed(2)}×** | ${pipeline['peakRssMb']} | ${pipeline['rssAt10']} / ${pipeline['rssAt50']} / ${pipeline['rssAt90']} | ${peak} | ${pipeline['status']} |`,
        );
      }
    } finally {
      await database.drop();
    }
  }
} finally {
  mock.stdin?.end();
  mock.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
const settings = ['BENCH_BATCH_SIZE', 'BENCH_JOBS_PER_FETCH', 'BENCH_WORKER_CONCURRENCY']
  .filter((name) => process.env[name] !== undefined)
  .map((name) => `${name}=${process.env[name]}`);
const table = [
  `Broadcast to every device of one app, accept to \`done\`, twice in one pipeline process (round 1 writes every device's last_success_at; round 2, the same day, writes none); the bare client sends the same count to the same mock (accept-all, own process) in the same run, once before and once after the pipeline (its rate: the mean, then each run). Targets: pipeline ≥ 75% of the bare client (SQLite ≥ 85%), CPU per device of the pipeline plus PostgreSQL's backends ≤ 3× the bare client's, peak RSS ≤ 250 MB, flat.`,
  `Both measured processes run compiled JavaScript (as the installed \`pushkeeper\` runs dist/) with \`node ${nodeFlags.join(' ')}\`; CPU is user + system time in µs per device (PostgreSQL: its backends serving the bench database, from /proc). Settings: ${settings.length > 0 ? settings.join(', ') : 'the service defaults'}.`,
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z; 1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after.`,
  '',
  '| store and queue | devices | round | bare client /s (before / after) | pipeline /s | pipeline ÷ bare | CPU µs/device bare | pipeline process | PostgreSQL backends | pipeline + database | ÷ bare | pipeline peak RSS MB | RSS MB at 10 / 50 / 90 % | bare client peak RSS MB | status |',
  '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|',
  ...rows,
].join('\n');
console.log(`\n${table}\n`);
if (process.env['BENCH_WRITE'] !== '0') writeBenchSection('fanout', 'Push pipeline (fan-out)', table);
