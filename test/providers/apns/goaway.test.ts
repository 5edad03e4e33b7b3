/** GOAWAY and stream limits against the mock over TLS + HTTP/2, in both auth modes. */
import { afterEach, describe, expect, it } from 'vitest';
import { ApnsConnection, type ConnectionListener, type PoolConnection } from '../../../src/providers/apns/connection.ts';
import type { ConnectionFactory } from '../../../src/providers/apns/pool.ts';
import { AUTH_MODES, alert, collect, type Fixture, startFixture } from './fixtures.ts';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** Real connections, watched: counts request() calls made after the connection saw a GOAWAY. */
function watchedFactory({ server, pki, connectionTls }: Fixture) {
  const watch = { afterGoaway: 0, connections: [] as ApnsConnection[] };
  const factory: ConnectionFactory = (id: number, listener: ConnectionListener): PoolConnection => {
    const connection = new ApnsConnection({
      id,
      origin: server.url,
      ca: pki.caCertPem,
      clientCertificate: connectionTls,
      listener,
      maxStreams: 1000,
      connectTimeoutMs: 5000,
      heartbeatMs: 0,
      heartbeatTimeoutMs: 1000,
      idleTimeoutMs: 0,
    });
    watch.connections.push(connection);
    const request = connection.request.bind(connection);
    connection.request = (wire, done) => {
      if (connection.goaway !== undefined) watch.afterGoaway += 1;
      request(wire, done);
    };
    return connection;
  };
  return { watch, factory };
}

describe.each(AUTH_MODES)('GOAWAY over $auth auth', ({ auth }) => {
  it('every 500 streams while 10,000 are queued: all accepted exactly once, none lost, no stream after GOAWAY', async () => {
    fixture = await startFixture({
      auth,
      recordAccepted: false,
      faults: { goAwayAfterStreams: { every: 500 } },
    });
    const { watch, factory } = watchedFactory(fixture);
    const client = fixture.client({ connectionFactory: factory, connections: 2 });
    const tokens = fixture.devices(10_000);
    const results = await collect(
      client.sendMany(
        tokens.map((token) => alert(token)),
        { concurrency: 10_000 },
      ),
    );
    expect(results.length).toBe(10_000);
    expect(results.filter((r) => r.kind !== 'accepted')).toEqual([]);
    const ids = new Set(results.map((r) => r.apnsId));
    expect(ids.size).toBe(10_000);
    for (const id of ids) expect(fixture.server.acceptanceCount(id)).toBe(1);
    expect(fixture.server.acceptedCount).toBe(10_000);
    expect(fixture.server.stats.goAwaysSent).toBeGreaterThanOrEqual(19);
    expect(watch.afterGoaway).toBe(0);
  });

  it('a JSON reason that is about credentials (BadCertificateEnvironment) becomes a rejection, not a retry loop', async () => {
    fixture = await startFixture({
      auth,
      faults: { goAwayOnFirstRequest: { reason: 'BadCertificateEnvironment' } },
    });
    const client = fixture.client({ connections: 1 });
    const [token] = fixture.devices(1);
    const result = await client.send(alert(token!));
    expect(result).toMatchObject({
      kind: 'rejected',
      status: 403,
      reason: 'BadCertificateEnvironment',
      disposition: 'reauth',
    });
  });
});
