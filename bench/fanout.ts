/**
 * `npm run bench:fanout`: a broadcast through the whole pipeline (store → queue → fan-out → send
 * batches → outcomes) to the mock APNs server in accept-all mode in its own process, beside the bare
 * APNs client sending the same count to the same mock in the same run. Targets (issue 6):
 * pipeline ≥ 75% of the bare client's throughput, pipeline process peak RSS ≤ 250 MB and flat.
 *
 * Environment: BENCH_SQLITE_COUNT (default 1,000,000), BENCH_PG_COUNT (200,000; 0 skips PostgreSQL),
 * BENCH_WRITE=0 to skip writing docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchDatabase, firstLine, ROOT, writeBenchSection } from './support.ts';

const root = ROOT;
const node = process.execPath;
const sqliteCount = Number(process.env['BENCH_SQLITE_COUNT'] ?? 1_000_000);
const pgCount = Number(process.env['BENCH_PG_COUNT'] ?? 200_000);

async function run(script: string, args: string[]): Promise<Record<string, unknown>> {
  const child = spawn(node, [join(root, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(await firstLine(child)) as Record<string, unknown>;
}

const dir = mkdtempSync(join(tmpdir(), 'pk-bench-fanout-'));
const mock = spawn(node, [join(root, 'bench/apns-mock.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
const rows: string[] = [];
try {
  const { url, caPem } = JSON.parse(await firstLine(mock)) as { url: string; caPem: string };
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, caPem);
  const cases: { name: string; count: number; databaseUrl: () => Promise<{ url: string; drop(): Promise<void> }> }[] = [];
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
    const bare = await run('bench/apns-client.ts', ['pushkeeper', url, caFile, String(c.count), '1000', '2']);
    const database = await c.databaseUrl();
    try {
      // Seeding runs in a process of its own: the bulk import's memory must not count against the pipeline.
      const secret = randomBytes(32).toString('hex');
      await run('bench/fanout-pipeline.ts', [url, caFile, String(c.count), database.url, 'seed', secret]);
      const pipeline = await run('bench/fanout-pipeline.ts', [url, caFile, String(c.count), database.url, 'run', secret]);
      console.log(c.name, JSON.stringify({ bare, pipeline }));
      const ratio = Number(pipeline['perSecond']) / Math.max(1, Number(bare['perSecond']));
      rows.push(
        `| ${c.name} | ${c.count.toLocaleString('en-US')} | ${Number(bare['perSecond']).toLocaleString('en-US')} | ${Number(pipeline['perSecond']).toLocaleString('en-US')} | **${(ratio * 100).toFixed(0)}%** | ${pipeline['peakRssMb']} | ${pipeline['rssAt10']} / ${pipeline['rssAt50']} / ${pipeline['rssAt90']} | ${pipeline['status']} |`,
      );
    } finally {
      await database.drop();
    }
  }
} finally {
  mock.stdin?.end();
  mock.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
const table = [
  `Broadcast to every device of one app, accept to \`done\`; the bare client sends the same count to the same mock (accept-all, own process) in the same run. Targets: pipeline ≥ 75% of the bare client, peak RSS ≤ 250 MB, flat.`,
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z.`,
  '',
  '| store and queue | devices | bare client /s | pipeline /s | pipeline ÷ bare | peak RSS MB | RSS MB at 10 / 50 / 90 % | status |',
  '|---|---:|---:|---:|---:|---:|---|---|',
  ...rows,
].join('\n');
console.log(`\n${table}\n`);
if (process.env['BENCH_WRITE'] !== '0') writeBenchSection('fanout', 'Push pipeline (fan-out)', table);
