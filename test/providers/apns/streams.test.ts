/** The server's MAX_CONCURRENT_STREAMS, as it changes, against the mock over TLS + HTTP/2. */
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH_MODES, alert, collect, type Fixture, startFixture } from './fixtures.ts';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

// Apple documents the one-stream start for token auth only; with a certificate the mock
// raises the limit after the first request on the trusted connection, as APNs was observed doing
// (https://github.com/jchambers/pushy/issues/356: 1, then 500). Either way the client must not
// open a second stream before it may.
describe.each(AUTH_MODES)('MAX_CONCURRENT_STREAMS over $auth auth', ({ auth }) => {
  it('starts at 1, rises to 1000, drops to 1 after a rejection: never exceeded', async () => {
    fixture = await startFixture({
      auth,
      initialMaxConcurrentStreams: 1,
      maxConcurrentStreams: 1000,
      faults: { dropStreamLimitAfterRejection: true, delayMs: { min: 0, max: 3 } },
    });
    const client = fixture.client({ connections: 1 });
    const good = fixture.devices(3000);
    // every 500th notification goes to an unknown token: BadDeviceToken → the server drops to 1 until
    // the next success. (Rarer than that keeps the mock's SETTINGS frames below Node's limit of 10
    // unacknowledged ones: the mock toggles on every answer, which APNs does not do at this rate.)
    // (The first two digits change for sure: a token that already began with "ff" stayed registered.)
    const unknown = (token: string) => (token.startsWith('ff') ? 'ee' : 'ff') + token.slice(2);
    const notifications = good.map((token, i) => alert(i % 500 === 499 ? unknown(token) : token));
    const results = await collect(client.sendMany(notifications, { concurrency: 2000 }));
    const rejected = results.filter((r) => r.kind === 'rejected');
    expect(results.filter((r) => r.kind === 'failed')).toEqual([]);
    expect(rejected.length).toBe(6);
    for (const r of rejected) expect(r).toMatchObject({ reason: 'BadDeviceToken' });
    const { stats } = fixture.server;
    expect(stats.maxObservedConcurrency).toBeGreaterThan(1);
    expect(stats.maxObservedConcurrency).toBeLessThanOrEqual(1000);
    for (const [connectionId, max] of stats.maxConcurrencyByConnection) {
      expect(max, `connection ${connectionId}`).toBeLessThanOrEqual(1000);
    }
  });
});
