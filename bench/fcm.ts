/**
 * `npm run bench:fcm`: Pushkeeper's FcmClient against firebase-admin's `sendEach`, both sending the
 * same messages to the mock FCM server (accept-all, its own process), each client in its own
 * process so CPU and peak RSS are its own. The two alternate, RUNS times; the table shows medians
 * and the ratios set as targets, and is written into docs/benchmarks.md between the FCM markers.
 * Client processes run the compiled JavaScript of the harness (as an installed Pushkeeper runs its
 * build), so Node's type stripping weighs on neither.
 *
 * Environment: BENCH_COUNT (default 20000), BENCH_RUNS (3), BENCH_CONCURRENCY (400 in flight for
 * our client), BENCH_CONNECTIONS (4: our pool size, and firebase-admin's parallel sendEach calls),
 * BENCH_WRITE=0 to skip writing the docs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileForChild, firstLine, ROOT, writeBenchSection } from './support.ts';

interface RunResult {
  client: string;
  accepted: number;
  failures: number;
  failureSample?: string;
  perSecond: number;
  cpuUsPerMessage: number;
  peakRssMb: number;
}

const node = process.execPath;
const count = Number(process.env['BENCH_COUNT'] ?? 20_000);
const runs = Number(process.env['BENCH_RUNS'] ?? 3);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 400);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 4);
const clients = ['pushkeeper', 'firebase-admin'] as const;
const LABELS = { pushkeeper: 'Pushkeeper FcmClient', 'firebase-admin': 'firebase-admin sendEach' };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const build = await compileForChild(join(ROOT, 'bench/fcm-client.ts'));
const dir = mkdtempSync(join(tmpdir(), 'pk-bench-fcm-'));
const mock = spawn(node, [join(ROOT, 'bench/fcm-mock.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
try {
  const mockFile = join(dir, 'mock.json');
  writeFileSync(mockFile, await firstLine(mock));
  const results: Record<string, RunResult[]> = { pushkeeper: [], 'firebase-admin': [] };
  for (let run = 1; run <= runs; run++) {
    for (const name of clients) {
      const child = spawn(
        node,
        [build.entry, name, mockFile, String(count), String(concurrency), String(connections)],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const result = JSON.parse(await firstLine(child)) as RunResult;
      results[name]!.push(result);
      console.log(
        `run ${run} ${name.padEnd(15)} ${String(result.perSecond).padStart(6)}/s  ${String(result.cpuUsPerMessage).padStart(6)} µs CPU/msg  ${String(result.peakRssMb).padStart(4)} MB  failures ${result.failures}${result.failureSample ? ` (${result.failureSample.slice(0, 100)})` : ''}`,
      );
    }
  }
  const summary = Object.fromEntries(
    clients.map((name) => [
      name,
      {
        perSecond: median(results[name]!.map((r) => r.perSecond)),
        cpu: median(results[name]!.map((r) => r.cpuUsPerMessage)),
        rss: median(results[name]!.map((r) => r.peakRssMb)),
        failures: results[name]!.map((r) => r.failures),
      },
    ]),
  ) as Record<(typeof clients)[number], { perSecond: number; cpu: number; rss: number; failures: number[] }>;
  const ours = summary.pushkeeper;
  const peer = summary['firebase-admin'];
  const row = (name: (typeof clients)[number]) =>
    `| ${LABELS[name]} | ${Math.round(summary[name].perSecond).toLocaleString('en-US')} | ${summary[name].cpu} | ${summary[name].rss} | ${summary[name].failures.join(' / ')} |`;
  const each = (name: (typeof clients)[number]) => results[name]!.map((r) => r.perSecond).join(' / ');
  const table = [
    `${count.toLocaleString('en-US')} messages per client and run, ${runs} runs, medians; mock FCM server (accept-all) in its own process; each client in its own process, running the compiled harness. Our client: ${connections} connections, ${concurrency} in flight (sendMany). firebase-admin: \`sendEach\` of 500 messages (its maximum; HTTP/2, one new session per call), ${connections} calls in flight, \`:scheme\` corrected so node:http2 accepts it.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z; 1-minute load average ${loadavg()[0]!.toFixed(1)}; every run is listed.`,
    '',
    '| client | messages/s (median) | CPU µs per message | peak RSS MB | failures per run |',
    '|---|---:|---:|---:|---|',
    row('pushkeeper'),
    row('firebase-admin'),
    '',
    `Runs (messages/s): ours ${each('pushkeeper')}; firebase-admin ${each('firebase-admin')}.`,
    '',
    `- throughput vs firebase-admin: **${(ours.perSecond / Math.max(1, peer.perSecond)).toFixed(2)}×** (target ≥ 2×)`,
    `- CPU per message vs firebase-admin: **${(ours.cpu / Math.max(0.1, peer.cpu)).toFixed(2)}×** (target ≤ 0.5×)`,
    `- peak RSS vs firebase-admin: **${(ours.rss / Math.max(1, peer.rss)).toFixed(2)}×** (target ≤ 0.6×)`,
  ].join('\n');
  console.log(`\n${table}\n`);
  if (process.env['BENCH_WRITE'] !== '0') writeBenchSection('fcm', 'FCM client', table);
} finally {
  mock.stdin?.end();
  mock.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  build.dispose();
}
