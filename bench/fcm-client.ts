/**
 * One FCM benchmark run of one client in its own process (so its peak RSS is its own):
 * `node bench/fcm-client.ts <pushkeeper|firebase-admin> <mockJsonFile> <count> <concurrency> <connections>`.
 * Prints one JSON line: {client, count, accepted, failures, ms, perSecond, cpuUsPerMessage,
 * peakRssMb, failureSample}.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TokenMessage } from 'firebase-admin/messaging';
import { FcmClient, prepareFcmMessage } from '../src/providers/fcm/index.ts';
import type { MockFcmServer, MockServiceAccountFile } from '../src/testing/index.ts';

const [
  clientName = 'pushkeeper',
  mockFile = '',
  countText = '20000',
  concurrencyText = '400',
  connectionsText = '4',
] = process.argv.slice(2);
const mock = JSON.parse(readFileSync(mockFile, 'utf8')) as {
  url: string;
  port: number;
  caPem: string;
  serviceAccount: MockServiceAccountFile['json'];
};
const count = Number(countText);
const concurrency = Number(concurrencyText);
const connections = Number(connectionsText);
const tokens = Array.from(
  { length: count },
  () =>
    `${randomBytes(16).toString('base64url').slice(0, 22)}:APA91b${randomBytes(105).toString('base64url')}`,
);
const message = {
  title: 'Benchmark',
  body: 'Hello from the benchmark',
  data: { orderId: '42' },
  collapseKey: 'bench',
  priority: 'high' as const,
};

interface Outcome {
  accepted: number;
  failures: number;
  failureSample: string | undefined;
}

async function runPushkeeper(): Promise<Outcome> {
  const client = new FcmClient({
    auth: { serviceAccount: mock.serviceAccount },
    origin: mock.url,
    ca: mock.caPem,
    connections,
  });
  const prepared = prepareFcmMessage(message);
  if (!prepared.ok) throw new Error(prepared.error.message);
  const outcome: Outcome = { accepted: 0, failures: 0, failureSample: undefined };
  function* requests() {
    for (const token of tokens) yield { token, message: prepared.ok ? prepared.value : message };
  }
  for await (const { result } of client.sendMany(requests(), { concurrency })) {
    if (result.kind === 'accepted') outcome.accepted += 1;
    else {
      outcome.failures += 1;
      outcome.failureSample ??= JSON.stringify(result);
    }
  }
  await client.close();
  return outcome;
}

/**
 * firebase-admin 14 `sendEach` (HTTP/2, one new session per call, at most 500 messages per call),
 * `connections` calls in flight so both clients use as many sessions. Pointed at the mock through
 * an agent, a credential and `http2.connect` (test/testing/support/firebase-admin-redirect.ts).
 */
async function runFirebaseAdmin(): Promise<Outcome> {
  // Loaded here only: the other client's process never carries firebase-admin in its RSS.
  const { deleteApp, initializeApp } = await import('firebase-admin/app');
  const { getMessaging } = await import('firebase-admin/messaging');
  const { mockCredential, redirectHttp2, redirectingAgent } = await import(
    '../test/testing/support/firebase-admin-redirect.ts'
  );
  const fake = { port: mock.port, url: mock.url, caPem: mock.caPem } as MockFcmServer;
  const agent = redirectingAgent(fake);
  const undo = redirectHttp2(fake, { fixScheme: true });
  const account = { json: mock.serviceAccount, publicKeyPem: '' };
  const app = initializeApp(
    {
      credential: mockCredential(account, agent),
      httpAgent: agent,
      projectId: mock.serviceAccount.project_id,
    },
    'bench',
  );
  const messaging = getMessaging(app);
  const outcome: Outcome = { accepted: 0, failures: 0, failureSample: undefined };
  let next = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const batch: TokenMessage[] = tokens
        .slice(next, next + 500)
        .map((token) => ({
          token,
          notification: { title: message.title, body: message.body },
          data: message.data,
          android: { collapseKey: 'bench', priority: 'high' },
        }));
      next += batch.length;
      const response = await messaging.sendEach(batch);
      outcome.accepted += response.successCount;
      outcome.failures += response.failureCount;
      if (response.failureCount > 0)
        outcome.failureSample ??= String(response.responses.find((r) => !r.success)?.error?.message);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await deleteApp(app);
  agent.destroy();
  undo();
  return outcome;
}

const cpuStart = process.cpuUsage();
const started = performance.now();
const outcome = clientName === 'firebase-admin' ? await runFirebaseAdmin() : await runPushkeeper();
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuStart);
process.stdout.write(
  `${JSON.stringify({
    client: clientName,
    count,
    ...outcome,
    ms: Math.round(ms),
    perSecond: Math.round((outcome.accepted / ms) * 1000),
    cpuUsPerMessage: Math.round(((cpu.user + cpu.system) / count) * 10) / 10,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`,
);
process.exit(0);
