/** sendMany over a million notifications, connections faked at the pool's seam (no sockets). */
import { expect, it } from 'vitest';
import { ApnsClient, serialiseApnsPayload } from '../../../src/providers/apns/index.ts';
import { generateSigningKey } from '../../../src/testing/index.ts';
import { fakeFactory } from './fake-connection.ts';
import { BUNDLE_ID } from './fixtures.ts';

const key = generateSigningKey({ teamId: 'TEAM123456', keyId: 'KEY1234567' });
const auth = {
  kind: 'token' as const,
  key: { teamId: key.teamId, keyId: key.keyId, privateKeyPem: key.privateKeyPem },
};

it('1,000,000 tokens from an async iterable: in flight never above the bound, the input read lazily', async () => {
  const { factory, state } = fakeFactory();
  const client = new ApnsClient({
    origin: 'https://127.0.0.1:1',
    auth,
    connectionFactory: factory,
    connections: 1,
  });
  const serialised = serialiseApnsPayload({ aps: { alert: 'hi' } });
  if (!serialised.ok) throw new Error('payload');
  const payload = serialised.value;
  const total = 1_000_000;
  const concurrency = 500;
  let produced = 0;
  let consumed = 0;
  let maxAhead = 0;
  const prefix = 'ab'.repeat(28);
  async function* audience() {
    for (let i = 0; i < total; i++) {
      produced += 1;
      maxAhead = Math.max(maxAhead, produced - consumed);
      yield { token: prefix + i.toString(16).padStart(8, '0'), bundleId: BUNDLE_ID, payload };
    }
  }
  let accepted = 0;
  for await (const { result } of client.sendMany(audience(), { concurrency })) {
    consumed += 1;
    if (result.kind === 'accepted') accepted += 1;
  }
  expect(accepted).toBe(total);
  expect(client.stats().maxInFlight).toBeLessThanOrEqual(concurrency);
  expect(state.maxActive).toBeLessThanOrEqual(concurrency);
  expect(maxAhead).toBeLessThanOrEqual(concurrency + 1);
  expect(client.stats().inFlight).toBe(0);
  await client.close();
}, 120_000);
