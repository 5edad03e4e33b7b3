/**
 * `npm run bench:apns`: Pushkeeper's APNs client against @parse/node-apn and a minimal raw
 * node:http2 client, each sending the same notifications to the mock APNs server (accept-all mode,
 * its own process), each in its own process so peak RSS is its own. The three run in turn, RUNS
 * times; the table shows medians and the ratios we target, and is written into
 * docs/benchmarks.md between the APNs markers. Every client process runs the compiled JavaScript of
 * the harness (and of Pushkeeper's client), as an installed Pushkeeper runs its build: Node's type
 * stripping would add ~35 MB to each process's RSS, the same for the three clients.
 *
 * Environment: BENCH_COUNT (default 100000), BENCH_RUNS (3), BENCH_CONCURRENCY (1000, streams in
 * flight for our client and the raw one), BENCH_CONNECTIONS (our pool size, 2), BENCH_CLIENTS
 * (comma list, default all three), BENCH_WRITE=0 to skip writing the docs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileForChild, firstLine, ROOT, writeBenchSection } from './support.ts';

interface RunResult {
  client: string;
  count: number;
  accepted: number;
  failures: number;
  failureSample?: string;
  ms: number;
  perSecond: number;
  peakRssMb: number;
}

const root = ROOT;
const node = process.execPath;
const count = Number(process.env['BENCH_COUNT'] ?? 100_000);
const runs = Number(process.env['BENCH_RUNS'] ?? 3);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 1000);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 2);
const clients = (process.env['BENCH_CLIENTS'] ?? 'pushkeeper,node-apn,raw').split(',');
const LABELS: Record<string, string> = {
  pushkeeper: 'Pushkeeper ApnsClient',
  'node-apn': '@parse/node-apn',
  raw: 'raw node:http2',
};

const build = await compileForChild(join(root, 'bench/apns-client.ts'));

async function runClient(name: string, url: string, caFile: string): Promise<RunResult> {
  const child = spawn(
    node,
    [build.entry, name, url, caFile, String(count), String(concurrency), String(connections)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(await firstLine(child)) as RunResult;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
}

const dir = mkdtempSync(join(tmpdir(), 'pk-bench-apns-'));
const mock = spawn(node, [join(root, 'bench/apns-mock.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
try {
  const { url, caPem } = JSON.parse(await firstLine(mock)) as { url: string; caPem: string };
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, caPem);
  const results: Record<string, RunResult[]> = Object.fromEntries(clients.map((c) => [c, []]));
  for (let run = 1; run <= runs; run++) {
    for (const name of clients) {
      const result = await runClient(name, url, caFile);
      results[name]!.push(result);
      console.log(
        `run ${run} ${name.padEnd(10)} ${String(result.perSecond).padStart(6)}/s  ${String(result.peakRssMb).padStart(4)} MB  failures ${result.failures}${result.failureSample ? ` (${result.failureSample.slice(0, 80)})` : ''}`,
      );
    }
  }
  const summary = clients.map((name) => ({
    name,
    perSecond: median(results[name]!.map((r) => r.perSecond)),
    peakRssMb: median(results[name]!.map((r) => r.peakRssMb)),
    failures: results[name]!.map((r) => r.failures),
  }));
  const ours = summary.find((s) => s.name === 'pushkeeper');
  const nodeApn = summary.find((s) => s.name === 'node-apn');
  const raw = summary.find((s) => s.name === 'raw');
  const rows = summary.map(
    (s) =>
      `| ${LABELS[s.name] ?? s.name} | ${s.perSecond.toLocaleString('en-US')} | ${s.peakRssMb} | ${s.failures.join(' / ')} |`,
  );
  const ratios: string[] = [];
  if (ours && nodeApn) {
    ratios.push(`- throughput vs @parse/node-apn: **${(ours.perSecond / Math.max(1, nodeApn.perSecond)).toFixed(2)}×** (target ≥ 1.3×)`);
    ratios.push(`- peak RSS vs @parse/node-apn: **${(ours.peakRssMb / Math.max(1, nodeApn.peakRssMb)).toFixed(2)}×** (target ≤ 0.6×)`);
  }
  if (ours && raw) ratios.push(`- throughput vs raw node:http2: **${(ours.perSecond / Math.max(1, raw.perSecond)).toFixed(2)}×** (target ≥ 0.95×)`);
  const table = [
    `${count.toLocaleString('en-US')} notifications per client and run, ${runs} runs, medians; mock APNs server in accept-all mode in its own process; each client in its own process, running the compiled harness. Our client: ${connections} connections, ${concurrency} in flight (sendMany); raw client: one connection, ${concurrency} streams in flight; node-apn: \`provider.send(note, tokens)\` with ${concurrency} recipients at a time.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z.`,
    '',
    '| client | notifications/s (median) | peak RSS MB (median) | failures per run |',
    '|---|---:|---:|---|',
    ...rows,
    '',
    ...ratios,
  ].join('\n');
  console.log(`\n${table}\n`);
  if (process.env['BENCH_WRITE'] !== '0') writeBenchSection('apns', 'APNs client', table);
} finally {
  mock.stdin?.end();
  mock.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  build.dispose();
}
