/**
 * `npm run bench:feedback`:
 * 1. decode 1,000,000 feedback tuples delivered in random chunk sizes (target ≥ 2,000,000 tuples/s),
 *    against a naive peer that concatenates every chunk onto its buffer (the shape of the
 *    PushSharp and many hand-written clients);
 * 2. apply 100,000 feedback invalidations against a registry of 1,000,000 devices on SQLite
 *    (target ≤ 3 s) through the poll's own apply path: `pollAppFeedback` with its defaults, its
 *    reader seam fed the encoded tuples from memory in random chunks (decode → token check →
 *    the store's batched invalidation rule);
 * 3. the same poll end to end: the mock feedback service over TLS → decoder → apply (100,000 tuples).
 *
 * Tokens are hashes, spread over the key space like real APNs tokens (counting tokens are inserted
 * and looked up in index order and flatter every B-tree).
 *
 * Options: --tuples N (default 1,000,000), --devices N (default 1,000,000), --reports N (default
 * 100,000), --budget-ms N (skip the TLS poll when the apply took longer; default 120,000),
 * --skip-store. Prints a table; writes it to docs/benchmarks.md unless BENCH_WRITE=0.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DeviceToken } from '../src/domain/index.ts';
import { FeedbackDecoder } from '../src/feedback/decoder.ts';
import { type FeedbackReader, pollAppFeedback, pollConfiguredApp } from '../src/service/feedback-poll.ts';
import { silentLogger } from '../src/service/logger.ts';
import { openStore } from '../src/store/index.ts';
import { startMockFeedbackServer } from '../src/testing/mock-feedback-server.ts';
import { createTestPki } from '../src/testing/test-pki.ts';
import { seededRandom } from '../src/testing/fault-random.ts';
import { writeBenchSection } from './support.ts';

const { values: args } = parseArgs({
  options: {
    tuples: { type: 'string', default: '1000000' },
    devices: { type: 'string', default: '1000000' },
    reports: { type: 'string', default: '100000' },
    'skip-store': { type: 'boolean', default: false },
    'budget-ms': { type: 'string', default: '120000' },
  },
});

interface Row {
  readonly case: string;
  readonly count: number;
  readonly ms: number;
  readonly rate: string;
  readonly target: string;
}
const rows: Row[] = [];

function record(name: string, count: number, ms: number, target: string): void {
  rows.push({
    case: name,
    count,
    ms: Math.round(ms),
    rate: `${Math.round((count / ms) * 1000).toLocaleString('en')} /s`,
    target,
  });
}

/**
 * Device i's token: a hash, so tokens are spread over the key space like real APNs tokens. (Counting
 * tokens would be inserted and looked up in index order, which flatters every B-tree.)
 */
function tokenOf(i: number): DeviceToken {
  return createHash('sha256').update(`device-${i}`).digest('hex') as DeviceToken;
}

function encodeStream(count: number): Buffer {
  const bytes = Buffer.allocUnsafe(count * 38);
  for (let i = 0; i < count; i++) {
    const at = i * 38;
    bytes.writeUInt32BE(1_700_000_000 + (i % 86_400), at);
    bytes.writeUInt16BE(32, at + 4);
    bytes.writeUInt32BE(i, at + 6);
    bytes.fill(i & 0xff, at + 10, at + 38);
  }
  return bytes;
}

function randomChunks(bytes: Buffer, random: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    // Mostly socket-sized reads (up to 64 KiB), some tiny ones that split headers.
    const size = random() < 0.1 ? 1 + Math.floor(random() * 40) : 1 + Math.floor(random() * 65_536);
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** Every read 1 to 64 bytes: the worst case for carrying partial tuples. */
function tinyChunks(bytes: Buffer, random: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const size = 1 + Math.floor(random() * 64);
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** The peer: append every chunk to one growing buffer, parse from the front, slice off. */
function naiveDecode(chunks: readonly Buffer[]): number {
  let buffer = Buffer.alloc(0);
  let count = 0;
  for (const chunk of chunks) {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 6) {
      const length = buffer.readUInt16BE(4);
      if (buffer.length < 6 + length) break;
      const tuple = {
        failedAt: new Date(buffer.readUInt32BE(0) * 1000),
        tokenHex: buffer.subarray(6, 6 + length).toString('hex'),
      };
      if (tuple.tokenHex.length > 0) count += 1;
      buffer = buffer.subarray(6 + length);
    }
  }
  return count;
}

function ourDecode(chunks: readonly Buffer[]): number {
  const decoder = new FeedbackDecoder();
  let count = 0;
  for (const chunk of chunks) count += decoder.push(chunk).length;
  decoder.finish();
  return count;
}

function benchDecode(): void {
  const count = Number(args.tuples);
  const bytes = encodeStream(count);
  // Random sizes are the target case; 1-64-byte reads are a stress case for carried tuples.
  const scenarios = [
    { label: 'random chunks', chunks: randomChunks(bytes, seededRandom(7)) },
    { label: 'tiny chunks 1-64 B', chunks: tinyChunks(bytes, seededRandom(9)) },
  ];
  for (const { label, chunks } of scenarios) {
    // Warm up both, then take the best of three runs each.
    ourDecode(chunks.slice(0, 2000));
    naiveDecode(chunks.slice(0, 2000));
    for (const [name, decode] of [
      ['FeedbackDecoder', ourDecode],
      ['naive concat peer', naiveDecode],
    ] as const) {
      let best = Number.POSITIVE_INFINITY;
      for (let run = 0; run < 3; run++) {
        const started = performance.now();
        const decoded = decode(chunks);
        best = Math.min(best, performance.now() - started);
        if (decoded !== count) throw new Error(`${name} decoded ${decoded} of ${count}`);
      }
      record(
        `decode ${label} (${chunks.length.toLocaleString('en')}): ${name}`,
        count,
        best,
        name !== 'FeedbackDecoder' ? 'peer' : label === 'random chunks' ? '≥ 2,000,000 /s' : 'stress',
      );
    }
  }
}

/** The feedback stream of `tokens` (32-byte tokens), every tuple failed at `failedAt`. */
function feedbackStream(tokens: readonly string[], failedAt: Date): Buffer {
  const bytes = Buffer.allocUnsafe(tokens.length * 38);
  for (const [i, token] of tokens.entries()) {
    bytes.writeUInt32BE(Math.floor(failedAt.getTime() / 1000), i * 38);
    bytes.writeUInt16BE(32, i * 38 + 4);
    bytes.write(token, i * 38 + 6, 'hex');
  }
  return bytes;
}

/**
 * The poll's reader seam fed from memory: the same decoder, batches and awaits as the TLS client,
 * without the network, so the apply row times what a poll does with what it read.
 */
function memoryReader(chunks: readonly Buffer[]): FeedbackReader {
  return async (_options, onTuples) => {
    const decoder = new FeedbackDecoder();
    let tuplesRead = 0;
    for (const chunk of chunks) {
      const tuples = decoder.push(chunk);
      tuplesRead += tuples.length;
      if (tuples.length > 0) await onTuples(tuples);
    }
    return { tuplesRead, truncatedBytes: decoder.finish().remainderBytes };
  };
}

async function benchStore(): Promise<void> {
  const devices = Number(args.devices);
  const reports = Number(args.reports);
  const dir = mkdtempSync(join(tmpdir(), 'pk-bench-feedback-'));
  const url = `sqlite:${join(dir, 'pk.db')}`;
  const secretKey = randomBytes(32);
  let store = openStore({ url, secretKey });
  const pki = await createTestPki();
  const client = await pki.issueClientCertificate({
    bundleId: 'com.example.bench',
    environments: ['production'],
  });
  const server = await startMockFeedbackServer({
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem },
  });
  try {
    await store.migrate();
    const app = await store.apps.create({
      name: 'Bench',
      topic: 'com.example.bench',
      credentials: { auth: 'certificate', certPem: client.certPem, keyPem: client.keyPem },
      feedback: { host: server.host, port: server.port, intervalHours: null, caPem: pki.caCertPem },
    });
    if (!app.ok) throw new Error(app.error.message);
    const appId = app.value.id;
    const registeredAt = new Date('2026-01-01T00:00:00Z');
    const seeding = performance.now();
    const imported = await store.devices.import(
      appId,
      (function* () {
        for (let i = 0; i < devices; i++) yield { token: tokenOf(i) };
      })(),
      { batchSize: 100_000, at: registeredAt },
    );
    if (!imported.ok) throw new Error(imported.error.message);
    record('seed: import devices (setup, not a target)', devices, performance.now() - seeding, '');
    // A settled registry, as a poll every 12 hours finds it: reopening checkpoints the seed's WAL,
    // which would otherwise be written back by the apply's commit and counted against it.
    await store.close();
    store = openStore({ url, secretKey });

    // Reports on even-numbered devices for the apply row, odd-numbered ones for the TLS poll.
    const failedAt = new Date('2026-02-01T00:00:00Z');
    const applyChunks = randomChunks(
      feedbackStream(
        Array.from({ length: reports }, (_, i) => tokenOf((i * 2) % devices)),
        failedAt,
      ),
      seededRandom(11),
    );
    // The target row: what a poll does with the tuples it read — decode, check each token, apply
    // through the store's invalidation rule in the poll's batches (pollAppFeedback's defaults).
    let started = performance.now();
    const applied = await pollAppFeedback(
      { appId, host: 'memory', port: 0, certificate: { certPem: '', keyPem: '' } },
      {
        invalidations: store.invalidations,
        logger: silentLogger,
        read: memoryReader(applyChunks),
      },
    );
    const applyMs = performance.now() - started;
    record(
      `apply: decode → check → invalidate, ${devices.toLocaleString('en')} devices (removed ${applied.removed})`,
      reports,
      applyMs,
      `${reports.toLocaleString('en')} ≤ 3 s`,
    );
    if (applyMs > Number(args['budget-ms'])) return;

    // End to end: other devices queued at the mock, polled over TLS, decoded, validated, applied.
    server.queue(
      Array.from({ length: reports }, (_, i) => ({
        token: tokenOf((i * 2 + 1) % devices),
        timestampSeconds: Math.floor(failedAt.getTime() / 1000),
      })),
    );
    started = performance.now();
    const poll = await pollConfiguredApp(appId, { store, logger: silentLogger, idleTimeoutMs: 30_000 });
    if (!poll.ok) throw new Error(poll.error.message);
    record(`poll over TLS → apply (removed ${poll.value.removed})`, reports, performance.now() - started, '');
  } finally {
    await server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

benchDecode();
console.table(rows);
if (!args['skip-store']) {
  const decoded = rows.length;
  await benchStore();
  console.table(rows.slice(decoded));
}

function markdown(): string {
  const lines = [
    `Decoder: ${Number(args.tuples).toLocaleString('en')} tuples, best of 3 runs. Store: SQLite, ${Number(args.devices).toLocaleString('en')} devices with hash-spread tokens, ${Number(args.reports).toLocaleString('en')} reports each for the apply row and the TLS poll.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z, load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' / ')} at the end.`,
    '',
    '| case | count | ms | rate | target |',
    '|---|---:|---:|---:|---|',
    ...rows.map(
      (row) =>
        `| ${row.case} | ${row.count.toLocaleString('en')} | ${row.ms.toLocaleString('en')} | ${row.rate} | ${row.target} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

if (process.env['BENCH_WRITE'] !== '0' && !args['skip-store']) {
  writeBenchSection('feedback', 'Legacy feedback service', markdown());
}
