/**
 * The client's main send and receive cases run twice: over our own HTTP/2 stack (src/http2/) and
 * over node:http2 plugged in at the `connectionFactory` seam (node-http2-connection.ts). Both must
 * give the same results against the same mock; a case that passes on one stack only points at a
 * difference between our stack and Node's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { APNS_REASON_NAMES, APNS_REASONS } from '../../../src/domain/index.ts';
import type { ApnsClientOptions } from '../../../src/providers/apns/index.ts';
import { AUTH_MODES, alert, collect, type Fixture, type FixtureOptions, randomToken, startFixture } from './fixtures.ts';
import { nodeHttp2Factory } from './node-http2-connection.ts';

type Stack = 'own' | 'node:http2';
const CASES = AUTH_MODES.flatMap(({ auth }) => (['own', 'node:http2'] as const).map((stack) => ({ auth, stack })));

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function start(stack: Stack, options: FixtureOptions, client: Partial<ApnsClientOptions> = {}) {
  const started = await startFixture(options);
  fixture = started;
  const factory =
    stack === 'own'
      ? {}
      : {
          connectionFactory: nodeHttp2Factory({
            origin: started.server.url,
            ca: started.pki.caCertPem,
            clientTls: started.connectionTls,
          }),
        };
  return { fixture: started, client: started.client({ ...factory, ...client }) };
}

describe.each(CASES)('over $stack, $auth auth', ({ auth, stack }) => {
  it('500 notifications: each accepted once, the apns-id and headers as sent', async () => {
    const { fixture, client } = await start(stack, { auth }, { connections: 2 });
    const tokens = fixture.devices(500);
    const results = await collect(
      client.sendMany(
        tokens.map((token, index) => alert(token, { collapseId: `c-${index}`, priority: index % 2 === 0 ? 5 : 10 })),
        { concurrency: 200 },
      ),
    );
    expect(results.filter((result) => result.kind !== 'accepted')).toEqual([]);
    for (const result of results) expect(fixture.server.acceptanceCount(result.apnsId)).toBe(1);
    for (const record of fixture.server.accepted) {
      const index = tokens.indexOf(record.token);
      expect(record.collapseId).toBe(`c-${index}`);
      expect(record.priority).toBe(index % 2 === 0 ? 5 : 10);
    }
  });

  it("every reason of Apple's table arrives as the same rejection", async () => {
    const { fixture, client } = await start(stack, { auth }, { retry: { maxAttempts: 1, maxResends: 0 } });
    const seen: unknown[] = [];
    for (const reason of APNS_REASON_NAMES) {
      const rule = APNS_REASONS[reason];
      fixture.server.respondWith(() => ({ status: rule.status, reason }));
      const result = await client.send(alert(randomToken()));
      seen.push(result.kind === 'rejected' ? [result.status, result.reason, result.disposition] : result);
    }
    expect(seen).toEqual(APNS_REASON_NAMES.map((reason) => [APNS_REASONS[reason].status, reason, APNS_REASONS[reason].disposition]));
  });

  it('GOAWAY every 200 streams while 2,000 wait: all accepted exactly once', async () => {
    const { fixture, client } = await start(stack, { auth, recordAccepted: false, faults: { goAwayAfterStreams: { every: 200 } } }, { connections: 2 });
    const results = await collect(client.sendMany(fixture.devices(2000).map((token) => alert(token)), { concurrency: 2000 }));
    expect(results.filter((result) => result.kind !== 'accepted')).toEqual([]);
    for (const result of results) expect(fixture.server.acceptanceCount(result.apnsId)).toBe(1);
  });

  it('MAX_CONCURRENT_STREAMS 1, then 100: never exceeded', async () => {
    const { fixture, client } = await start(stack, { auth, initialMaxConcurrentStreams: 1, maxConcurrentStreams: 100 }, { connections: 1 });
    const results = await collect(client.sendMany(fixture.devices(1000).map((token) => alert(token)), { concurrency: 500 }));
    expect(results.filter((result) => result.kind !== 'accepted')).toEqual([]);
    expect(fixture.server.stats.maxObservedConcurrency).toBeGreaterThan(1);
    expect(fixture.server.stats.maxObservedConcurrency).toBeLessThanOrEqual(100);
  });
});
