/**
 * The benchmark's push service: the mock (src/testing) in its own process, so its CPU never counts
 * against the sender being measured. It checks VAPID on every request and decrypts every
 * BENCH_DECRYPT_EVERY-th message (default 10; 1 = all of them: the mock, sharing the machine, then
 * becomes the limit for every sender and the run measures the mock). Prints one JSON line
 * `{origin, caPem, control, subscriptions}` and runs until stdin closes or a signal arrives.
 */
import { startMockWebPushControl, startMockWebPushServer } from '../src/testing/index.ts';

const subscriptionCount = Number(process.argv[2] ?? 1000);
const decryptEvery = Number(process.env['BENCH_DECRYPT_EVERY'] ?? 10);
const mock = await startMockWebPushServer({ recordMessages: false, decryptEvery, maxConcurrentStreams: 100 });
const control = await startMockWebPushControl(mock);
const subscriptions = Array.from({ length: subscriptionCount }, () => mock.mintSubscription());
process.stdout.write(
  `${JSON.stringify({ origin: mock.origin, caPem: mock.caPem, control: control.url, subscriptions })}\n`,
);
let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  await Promise.all([control.close(), mock.close()]);
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
