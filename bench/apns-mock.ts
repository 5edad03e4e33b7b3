/**
 * The benchmark's sink: the mock APNs server in accept-all mode, in its own process so that its CPU
 * and memory never count against the client being measured. Prints one JSON line
 * `{url, caPem}` and runs until stdin closes or a signal arrives.
 */
import { startMockApnsServer } from '../src/testing/index.ts';

const server = await startMockApnsServer({ mode: 'accept-all', recordAccepted: false });
process.stdout.write(`${JSON.stringify({ url: server.url, caPem: server.caPem })}\n`);
let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  await server.close();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
