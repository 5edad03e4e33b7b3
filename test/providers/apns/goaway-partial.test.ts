/** GOAWAY with a last-stream-id below the streams in flight, against the mock over TLS + HTTP/2. */
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH_MODES, alert, collect, type Fixture, startFixture } from './fixtures.ts';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe.each(AUTH_MODES)('GOAWAY over $auth auth', ({ auth }) => {
  it('last-stream-id below in-flight streams: those are resent, none lost, none duplicated', async () => {
    fixture = await startFixture({
      auth,
      recordAccepted: false,
      faults: { goAwayAfterStreams: { every: 300, lastStreamIdBehind: 100 }, delayMs: { min: 0, max: 5 } },
    });
    const client = fixture.client({ connections: 1 });
    const tokens = fixture.devices(2000);
    const results = await collect(
      client.sendMany(
        tokens.map((token) => alert(token)),
        { concurrency: 1000 },
      ),
    );
    expect(results.filter((r) => r.kind !== 'accepted')).toEqual([]);
    for (const result of results) expect(fixture.server.acceptanceCount(result.apnsId)).toBe(1);
    expect(fixture.server.acceptedCount).toBe(2000);
    expect(client.stats().resends).toBeGreaterThan(0);
  });
});
