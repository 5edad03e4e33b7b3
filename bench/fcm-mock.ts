/**
 * The FCM benchmark's sink: the mock FCM server (accept-all: every token is live, nothing recorded)
 * in its own process, so its CPU and memory never count against the client being measured. Prints
 * one JSON line `{url, port, caPem, serviceAccount}` and runs until stdin closes or a signal arrives.
 */
import { startMockFcmServer } from '../src/testing/index.ts';

const server = await startMockFcmServer({ mode: 'accept-all', recordAccepted: false });
const serviceAccount = server.createServiceAccount().json;
process.stdout.write(
  `${JSON.stringify({ url: server.url, port: server.port, caPem: server.caPem, serviceAccount })}\n`,
);
let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  const stats = server.stats;
  process.stderr.write(`mock FCM: ${stats.requests} requests, ${stats.tokensIssued} access tokens issued\n`);
  await server.close();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
