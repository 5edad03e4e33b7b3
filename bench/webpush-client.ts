/**
 * One sender, in its own process, sending COUNT messages to the benchmark's subscriptions
 * (round-robin) with CONCURRENCY in flight. Prints one JSON line: throughput, this process's CPU per
 * message, failures, and the encryption's own cost measured in a separate loop after the run.
 *
 *   pushkeeper-h2    WebPushClient, HTTP/2 (ALPN), 2 sessions
 *   pushkeeper-h1    WebPushClient forced to HTTP/1.1 keep-alive, 32 sockets
 *   web-push         web-push's sendNotification with a keep-alive https.Agent (32 sockets)
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import webpush from 'web-push';
import { generateVapidKeys, WebPushClient } from '../src/providers/webpush/index.ts';
import { encryptWebPushPayload } from '../src/providers/webpush/encrypt.ts';

interface Subscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

const [
  name = 'pushkeeper-h2',
  subscriptionsFile = '',
  caFile = '',
  countText = '2000',
  concurrencyText = '100',
] = process.argv.slice(2);
const count = Number(countText);
const concurrency = Number(concurrencyText);
const subscriptions = JSON.parse(readFileSync(subscriptionsFile, 'utf8')) as Subscription[];
const ca = readFileSync(caFile, 'utf8');
const host = new URL(subscriptions[0]!.endpoint).host;
const vapid = { ...generateVapidKeys(), subject: 'mailto:bench@example.com' };
const payload = JSON.stringify({
  title: 'Order shipped',
  body: 'Your order #1234 is on its way and should arrive on Thursday.',
  url: 'https://shop.example.com/orders/1234',
  tag: 'order-1234',
  data: { orderId: '1234', carrier: 'DHL', eta: '2026-12-10' },
});

let failures = 0;
let failureSample: string | undefined;
function fail(text: string): void {
  failures += 1;
  failureSample ??= text;
}

async function runPushkeeper(protocol: 'h2' | 'http/1.1'): Promise<{ encryptUs?: number }> {
  const client = new WebPushClient({
    vapid,
    allowedEndpointHosts: [host],
    tls: { ca },
    protocol,
    ...(protocol === 'http/1.1' ? { maxConnectionsPerOrigin: 32 } : {}),
  });
  function* deliveries() {
    for (let i = 0; i < count; i += 1) {
      yield {
        subscription: subscriptions[i % subscriptions.length]!,
        message: { payload, ttlSeconds: 3600, urgency: 'normal' as const },
      };
    }
  }
  for await (const { outcome } of client.sendMany(deliveries(), { concurrency })) {
    if (outcome.kind !== 'accepted') fail(JSON.stringify(outcome));
  }
  const stats = client.stats();
  await client.close();
  return { encryptUs: stats.encryptMicros / Math.max(1, stats.encrypted) };
}

async function runWebPush(): Promise<Record<string, never>> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca });
  const options = { vapidDetails: vapid, TTL: 3600, urgency: 'normal' as const, agent };
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const i = next;
      next += 1;
      try {
        const result = await webpush.sendNotification(
          subscriptions[i % subscriptions.length]!,
          payload,
          options,
        );
        if (result.statusCode !== 201) fail(`status ${result.statusCode}`);
      } catch (error) {
        fail(String((error as { statusCode?: number; body?: string }).body ?? error));
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return {};
}

/** The encryption alone, per message, in a loop of 1,000 (after the run, so it does not overlap I/O). */
function encryptionMicros(): { ours: number; webPush: number } {
  const sub = subscriptions[0]!;
  const recipient = {
    p256dh: Buffer.from(sub.keys.p256dh, 'base64url'),
    auth: Buffer.from(sub.keys.auth, 'base64url'),
  };
  const plaintext = Buffer.from(payload);
  const loops = 1000;
  let started = process.cpuUsage();
  for (let i = 0; i < loops; i += 1) encryptWebPushPayload(recipient, plaintext);
  let used = process.cpuUsage(started);
  const ours = (used.user + used.system) / loops;
  const encrypt = (webpush as unknown as { encrypt: (p: string, a: string, d: Buffer, e: string) => unknown })
    .encrypt;
  started = process.cpuUsage();
  for (let i = 0; i < loops; i += 1) encrypt(sub.keys.p256dh, sub.keys.auth, plaintext, 'aes128gcm');
  used = process.cpuUsage(started);
  return { ours, webPush: (used.user + used.system) / loops };
}

// Measured from the first send: connection setup (and our ALPN probe) counts for every sender.
const cpuBefore = process.cpuUsage();
const started = performance.now();
const extra =
  name === 'web-push'
    ? await runWebPush()
    : await runPushkeeper(name === 'pushkeeper-h1' ? 'http/1.1' : 'h2');
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const encryption = encryptionMicros();
process.stdout.write(
  `${JSON.stringify({
    client: name,
    count,
    failures,
    failureSample,
    ms: Math.round(ms),
    perSecond: Math.round((count / ms) * 1000),
    cpuUsPerMessage: Math.round((cpu.user + cpu.system) / count),
    encryptUsPerMessage: Math.round(name === 'web-push' ? encryption.webPush : encryption.ours),
    inRunEncryptUs: 'encryptUs' in extra ? Math.round(extra.encryptUs as number) : undefined,
  })}\n`,
);
process.exit(0);
