/**
 * `npm run bench:webpush`: Pushkeeper's WebPushClient against the `web-push` library's
 * sendNotification (with a keep-alive https.Agent), both sending the same payload to the same
 * subscriptions of the mock push service, which runs in its own process, checks VAPID on every
 * request and decrypts every 10th message (BENCH_DECRYPT_EVERY; 1 decrypts all, and then the
 * mock's own CPU limits every sender alike). The test suite has the mock decrypt every message. Each sender runs in its own
 * process on the compiled harness, in turn, BENCH_RUNS times; CPU per message is the sender
 * process's own (user + system). The table is written into docs/benchmarks.md between the
 * `webpush` markers.
 *
 * Environment: BENCH_COUNT (default 3000), BENCH_RUNS (2), BENCH_CONCURRENCY (100),
 * BENCH_SUBSCRIPTIONS (500), BENCH_CLIENTS (default pushkeeper-h2,pushkeeper-h1,web-push),
 * BENCH_WRITE=0 to skip writing the docs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileForChild, cpuYardstickSeconds, firstLine, ROOT, writeBenchSection } from './support.ts';

interface RunResult {
  client: string;
  count: number;
  failures: number;
  failureSample?: string;
  ms: number;
  perSecond: number;
  cpuUsPerMessage: number;
  encryptUsPerMessage: number;
  inRunEncryptUs?: number;
  mockAccepted?: number;
  mockDecrypted?: number;
}

const node = process.execPath;
const count = Number(process.env['BENCH_COUNT'] ?? 3000);
const runs = Number(process.env['BENCH_RUNS'] ?? 2);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 100);
const subscriptionCount = Number(process.env['BENCH_SUBSCRIPTIONS'] ?? 500);
const clients = (process.env['BENCH_CLIENTS'] ?? 'pushkeeper-h2,pushkeeper-h1,web-push').split(',');
const LABELS: Record<string, string> = {
  'pushkeeper-h2': 'Pushkeeper WebPushClient, HTTP/2',
  'pushkeeper-h1': 'Pushkeeper WebPushClient, HTTP/1.1 keep-alive',
  'web-push': 'web-push sendNotification, keep-alive agent',
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
}

async function control(url: string, path: string, method = 'GET'): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, { method });
  return response.status === 204 ? {} : ((await response.json()) as Record<string, unknown>);
}

const yardstickBefore = cpuYardstickSeconds();
const build = await compileForChild(join(ROOT, 'bench/webpush-client.ts'));
const mockBuild = await compileForChild(join(ROOT, 'bench/webpush-mock.ts'));
const dir = mkdtempSync(join(tmpdir(), 'pk-bench-webpush-'));
const mock = spawn(node, [mockBuild.entry, String(subscriptionCount)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
try {
  const hello = JSON.parse(await firstLine(mock)) as {
    caPem: string;
    control: string;
    subscriptions: unknown[];
  };
  const caFile = join(dir, 'ca.pem');
  const subscriptionsFile = join(dir, 'subscriptions.json');
  writeFileSync(caFile, hello.caPem);
  writeFileSync(subscriptionsFile, JSON.stringify(hello.subscriptions));
  const results: Record<string, RunResult[]> = Object.fromEntries(clients.map((c) => [c, []]));
  for (let run = 1; run <= runs; run += 1) {
    for (const name of clients) {
      await control(hello.control, '/reset', 'POST');
      const child = spawn(
        node,
        [build.entry, name, subscriptionsFile, caFile, String(count), String(concurrency)],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const result = JSON.parse(await firstLine(child)) as RunResult;
      const stats = await control(hello.control, '/stats');
      result.mockAccepted = Number(stats['accepted']);
      result.mockDecrypted = Number(stats['decrypted']);
      // A message the mock did not accept is a failure even if the sender thought otherwise.
      result.failures = Math.max(result.failures, count - result.mockAccepted);
      results[name]!.push(result);
      console.log(
        `run ${run} ${name.padEnd(14)} ${String(result.perSecond).padStart(6)}/s  cpu ${String(result.cpuUsPerMessage).padStart(5)} µs/msg  encrypt ${result.encryptUsPerMessage} µs  mock accepted ${result.mockAccepted} decrypted ${result.mockDecrypted}  failures ${result.failures}${result.failureSample ? ` (${result.failureSample.slice(0, 100)})` : ''}`,
      );
    }
  }
  const summary = clients.map((name) => {
    const list = results[name]!;
    return {
      name,
      perSecond: median(list.map((r) => r.perSecond)),
      cpu: median(list.map((r) => r.cpuUsPerMessage)),
      encrypt: median(list.map((r) => r.encryptUsPerMessage)),
      perRun: list.map((r) => `${r.perSecond.toLocaleString('en-US')}/s ${r.cpuUsPerMessage} µs`).join('; '),
      failures: list.map((r) => r.failures),
    };
  });
  const yardstickAfter = cpuYardstickSeconds();
  const peer = summary.find((s) => s.name === 'web-push');
  const rows = summary.map(
    (s) =>
      `| ${LABELS[s.name] ?? s.name} | ${s.perSecond.toLocaleString('en-US')} | ${s.cpu} | ${s.encrypt} | ${s.failures.join(' / ')} | ${s.perRun} |`,
  );
  const ratios: string[] = [];
  for (const s of summary) {
    if (peer === undefined || s === peer) continue;
    ratios.push(
      `- ${LABELS[s.name]}: throughput **${(s.perSecond / Math.max(1, peer.perSecond)).toFixed(2)}×** web-push's (target ≥ 3×), CPU per message **${(s.cpu / Math.max(1, peer.cpu)).toFixed(2)}×** (target ≤ 0.5×)`,
    );
  }
  const table = [
    `${count.toLocaleString('en-US')} messages per sender and run (a 221-byte JSON payload, round-robin over ${subscriptionCount} subscriptions), ${runs} runs, medians; ${concurrency} in flight for every sender. The mock push service runs in its own process, checks VAPID on every request and decrypted 1 message in ${process.env['BENCH_DECRYPT_EVERY'] ?? 10} (a failure to decrypt is a failure; the tests decrypt all). A signature it verified once is remembered, as push services do: our client's per-origin token is verified once, web-push's new token per message every time. CPU is the sender process's own user + system time per message; "encryption" is the RFC 8291 encryption alone in a loop (ours: \`encryptWebPushPayload\`; web-push: its \`encrypt\`).`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z; CPU yardstick ${yardstickBefore.toFixed(2)} s before, ${yardstickAfter.toFixed(2)} s after (docs/benchmarks.md explains it).`,
    '',
    '| sender | messages/s (median) | CPU µs/message (median) | encryption µs/message | failures per run | per run |',
    '|---|---:|---:|---:|---|---|',
    ...rows,
    '',
    ...ratios,
  ].join('\n');
  console.log(`\n${table}\n`);
  if (process.env['BENCH_WRITE'] !== '0') writeBenchSection('webpush', 'Web Push client', table);
} finally {
  mock.stdin?.end();
  mock.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  build.dispose();
  mockBuild.dispose();
}
