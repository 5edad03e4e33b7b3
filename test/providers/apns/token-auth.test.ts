/**
 * Provider tokens against the mock: one new iat per expiry wave, no token churn over hours. Token
 * auth only: a certificate connection carries no JWT to expire or refresh.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApnsAgent, type ApnsCredentials } from '../../../src/providers/apns/index.ts';
import { alert, BUNDLE_ID, startFixture, type TokenFixture } from './fixtures.ts';
import { manualClock } from './clocks.ts';

let fixture: TokenFixture | undefined;
let agent: ApnsAgent | undefined;
afterEach(async () => {
  agent?.destroy();
  agent = undefined;
  await fixture?.close();
  fixture = undefined;
});

describe('provider tokens', () => {
  it('100 concurrent streams get 403 ExpiredProviderToken: exactly one new iat, then all 100 accepted', async () => {
    const clock = manualClock();
    fixture = await startFixture({ auth: 'token', now: clock.now });
    const client = fixture.client({ clock, connections: 1 });
    const tokens = fixture.devices(101);
    expect(await client.send(alert(tokens[0]!))).toMatchObject({ kind: 'accepted' });
    const firstAuthorization = fixture.server.accepted[0]!.headers['authorization'];
    expect(fixture.server.stats.distinctIats.size).toBe(1);
    // 21 minutes later APNs calls the token stale (as if clocks disagreed); a new one is allowed.
    clock.advance(21 * 60_000);
    fixture.server.respondWith((request) =>
      request.headers['authorization'] === firstAuthorization ? { status: 403, reason: 'ExpiredProviderToken' } : undefined,
    );
    const results = await Promise.all(tokens.slice(1).map((token) => client.send(alert(token))));
    expect(results.filter((r) => r.kind !== 'accepted')).toEqual([]);
    expect(fixture.server.rejections.filter((r) => r.reason === 'ExpiredProviderToken').length).toBeGreaterThan(1);
    expect(fixture.server.stats.distinctIats.size).toBe(2);
    expect(client.stats().accepted).toBe(101);
  });

  it('a fake clock over 3 hours, 4 clients sharing one key: no TooManyProviderTokenUpdates, nothing expires', async () => {
    const clock = manualClock();
    fixture = await startFixture({ auth: 'token', now: clock.now });
    const { key, server } = fixture;
    agent = new ApnsAgent({ clock, endpoints: { production: { origin: server.url, ca: server.caPem } } });
    const apps: ApnsCredentials[] = [1, 2, 3, 4].map((n) => ({
      id: `app-${n}`,
      kind: 'token',
      teamId: key.teamId,
      keyId: key.keyId,
      privateKeyPem: key.privateKeyPem,
    }));
    const [token] = fixture.devices(1);
    for (let minute = 0; minute < 180; minute++) {
      const results = await Promise.all(apps.map((app) => agent!.send(app, 'production', alert(token!))));
      expect(results.filter((r) => r.kind !== 'accepted'), `minute ${minute}`).toEqual([]);
      clock.advance(60_000);
    }
    expect(server.rejections).toEqual([]);
    expect(server.acceptedCount).toBe(720);
    expect(agent.stats().clients).toBe(4);
    // 180 minutes at one token per 40 minutes: the first and four refreshes.
    expect(server.stats.distinctIats.size).toBe(5);
    expect(server.accepted.every((n) => n.topic === BUNDLE_ID)).toBe(true);
  });
});
