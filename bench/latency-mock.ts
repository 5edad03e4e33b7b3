/**
 * The latency benchmark's APNs: the mock in accept-all mode, recording each accepted request's
 * arrival time, in its own process, with its control API so the benchmark can read the records.
 * Prints one JSON line `{url, caPem, controlUrl}`; runs until stdin closes.
 */
import { startMockApnsServer, startMockControlApi } from '../src/testing/index.ts';

const server = await startMockApnsServer({ mode: 'accept-all', recordAccepted: true });
const control = await startMockControlApi(server, {});
process.stdout.write(`${JSON.stringify({ url: server.url, caPem: server.caPem, controlUrl: control.url })}\n`);
const stop = async () => {
  await control.close();
  await server.close();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
