/**
 * One benchmark run of one client in its own process (so its peak RSS is its own):
 * `node bench/apns-client.ts <pushkeeper|node-apn|raw> <url> <caFile> <count>`.
 * Prints one JSON line: {client, count, accepted, failures, ms, perSecond, peakRssMb, failureSample}.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import { ApnsClient, ProviderTokenSource, serialiseApnsPayload } from '../src/providers/apns/index.ts';

const [clientName = 'pushkeeper', url = '', caFile = '', countText = '100000', concurrencyText = '1000', connectionsText = '2'] =
  process.argv.slice(2);
const count = Number(countText);
const concurrency = Number(concurrencyText);
const connections = Number(connectionsText);
const caPem = readFileSync(caFile, 'utf8');
// A fresh P-256 key: the accept-all sink does not check signatures, but every client signs for real.
const key = {
  teamId: 'TEAM123456',
  keyId: 'KEY1234567',
  privateKeyPem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
};
const bundleId = 'com.example.bench';
const payloadObject = { aps: { alert: { title: 'Benchmark', body: 'Hello from the benchmark' }, badge: 1 } };
const tokens = Array.from({ length: count }, () => randomBytes(32).toString('hex'));

interface Outcome {
  accepted: number;
  failures: number;
  failureSample: string | undefined;
}

async function runPushkeeper(): Promise<Outcome> {
  const client = new ApnsClient({
    origin: url,
    ca: caPem,
    connections,
    auth: { kind: 'token', key: { teamId: key.teamId, keyId: key.keyId, privateKeyPem: key.privateKeyPem } },
  });
  const payload = serialiseApnsPayload(payloadObject);
  if (!payload.ok) throw new Error(payload.error.message);
  const outcome: Outcome = { accepted: 0, failures: 0, failureSample: undefined };
  function* notifications() {
    for (const token of tokens) yield { token, bundleId, payload: payload.ok ? payload.value : Buffer.alloc(0) };
  }
  for await (const { result } of client.sendMany(notifications(), { concurrency })) {
    if (result.kind === 'accepted') outcome.accepted += 1;
    else {
      outcome.failures += 1;
      outcome.failureSample ??= JSON.stringify(result);
    }
  }
  await client.close();
  return outcome;
}

async function runNodeApn(): Promise<Outcome> {
  const require = createRequire(import.meta.url);
  const apn = require('@parse/node-apn');
  const { hostname, port } = new URL(url);
  const provider = new apn.Provider({
    token: { key: key.privateKeyPem, keyId: key.keyId, teamId: key.teamId },
    production: true,
    address: hostname,
    port: Number(port),
    ca: caPem,
  });
  const note = new apn.Notification();
  note.alert = payloadObject.aps.alert;
  note.badge = 1;
  note.topic = bundleId;
  note.pushType = 'alert';
  // node-apn sends one notification to a list of recipients, all at once. A list of 100,000 opens
  // 100,000 streams that queue inside the session and time out (measured: 1.5 GB RSS, minutes, mass
  // "apn write timeout"), so it gets the same window as the others: `concurrency` recipients per
  // send(), one send() after the other.
  const result = { sent: [] as unknown[], failed: [] as { error?: Error; response?: unknown }[] };
  for (let start = 0; start < tokens.length; start += concurrency) {
    const chunk = await provider.send(note, tokens.slice(start, start + concurrency));
    result.sent.push(...chunk.sent);
    result.failed.push(...chunk.failed);
  }
  provider.shutdown();
  const failed = result.failed;
  return {
    accepted: result.sent.length,
    failures: failed.length,
    failureSample: failed[0] === undefined ? undefined : `${String(failed[0].error?.stack ?? JSON.stringify(failed[0].response))}`,
  };
}

/** The floor: one session, a fixed window of streams, no validation, no retries. */
async function runRaw(): Promise<Outcome> {
  const tokenSource = new ProviderTokenSource({ key: { teamId: key.teamId, keyId: key.keyId, privateKeyPem: key.privateKeyPem } });
  const authorization = tokenSource.current().authorization;
  const payload = Buffer.from(JSON.stringify(payloadObject));
  const session = http2.connect(url, { ca: caPem });
  session.on('error', () => {});
  await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
  const outcome: Outcome = { accepted: 0, failures: 0, failureSample: undefined };
  let next = 0;
  let open = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      const limit = Math.min(concurrency, session.remoteSettings.maxConcurrentStreams ?? concurrency);
      while (open < limit && next < count) {
        const token = tokens[next++]!;
        open += 1;
        const stream = session.request({
          ':method': 'POST',
          ':path': `/3/device/${token}`,
          'apns-topic': bundleId,
          'apns-push-type': 'alert',
          authorization,
        });
        let status = 0;
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        stream.on('error', () => {});
        stream.on('close', () => {
          open -= 1;
          if (status === 200) outcome.accepted += 1;
          else {
            outcome.failures += 1;
            outcome.failureSample ??= `status ${status} rst ${stream.rstCode}`;
          }
          if (outcome.accepted + outcome.failures === count) resolve();
          else pump();
        });
        stream.end(payload);
      }
    };
    session.on('remoteSettings', pump);
    pump();
  });
  session.close();
  return outcome;
}

const runners: Record<string, () => Promise<Outcome>> = { pushkeeper: runPushkeeper, 'node-apn': runNodeApn, raw: runRaw };
const runner = runners[clientName];
if (runner === undefined) throw new Error(`unknown client ${clientName}`);
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const started = performance.now();
const cpuStart = process.cpuUsage();
const outcome = await runner();
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuStart);
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
process.stdout.write(
  `${JSON.stringify({
    client: clientName,
    count,
    ...outcome,
    failures: count - outcome.accepted,
    ms: Math.round(ms),
    perSecond: Math.round((outcome.accepted / ms) * 1000),
    peakRssMb: Math.round(peakRss / 1024 / 1024),
    cpuMsPerThousand: Math.round(((cpu.user + cpu.system) / 1000 / count) * 1000),
  })}\n`,
);
process.exit(0);
