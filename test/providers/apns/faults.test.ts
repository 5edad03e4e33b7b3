/** Transport faults injected by the mock: dropped sessions, unanswered streams, black holes. */
import diagnosticsChannel from 'node:diagnostics_channel';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestPki } from '../../../src/testing/index.ts';
import { AUTH_MODES, alert, collect, type Fixture, startFixture } from './fixtures.ts';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe.each(AUTH_MODES)('faults over $auth auth', ({ auth }) => {
  it('1% of requests destroy the session: none lost, duplicates only among the resent, same apns-id', async () => {
    fixture = await startFixture({ auth, faults: { destroySessionRate: 0.01, faultSeed: 7 } });
    // Every stream in flight dies with its session, so the chance that one notification is caught
    // again and again grows with the concurrency: at 20 in flight one attempt is lost with p ≈ 0.2,
    // and twelve attempts make a loss practically impossible (0.2^12 per notification).
    const client = fixture.client({ connections: 2, retry: { maxAttempts: 12 } });
    const tokens = fixture.devices(2000);
    const results = await collect(client.sendMany(tokens.map((token) => alert(token)), { concurrency: 20 }));
    expect(results.filter((r) => r.kind !== 'accepted')).toEqual([]);
    expect(fixture.server.stats.sessionsDestroyed).toBeGreaterThan(0);
    let duplicates = 0;
    for (const result of results) {
      const count = fixture.server.acceptanceCount(result.apnsId);
      expect(count).toBeGreaterThanOrEqual(1);
      duplicates += count - 1;
    }
    // A duplicate can only come from a resend after a lost connection, and it carries the same apns-id
    // (counted per apns-id above); never from a fresh id.
    expect(fixture.server.acceptedCount).toBe(2000 + duplicates);
    expect(duplicates).toBeLessThanOrEqual(client.stats().retries);
    expect(client.stats().inFlight).toBe(0);
  });

  it('0.1% never answered: cancelled at the timeout, reported ambiguous, nothing hangs', async () => {
    // One draw of the seeded PRNG per request and no resends of timed-out ones: the same three of the
    // 3000 go unanswered in every run, whatever the arrival order.
    fixture = await startFixture({ auth, recordAccepted: false, faults: { neverRespondRate: 0.001, faultSeed: 3 } });
    // The timeout is far above the mock's latency at this concurrency: only unanswered streams hit it.
    const client = fixture.client({ connections: 1, requestTimeoutMs: 2000 });
    const tokens = fixture.devices(3000);
    const results = await collect(client.sendMany(tokens.map((token) => alert(token)), { concurrency: 50 }));
    const failed = results.filter((r) => r.kind === 'failed');
    expect(results.filter((r) => r.kind === 'rejected')).toEqual([]);
    expect(failed.length).toBe(fixture.server.stats.unansweredStreams);
    expect(failed.length).toBeGreaterThan(0);
    for (const result of failed) expect(result).toMatchObject({ code: 'PK_ERR_APNS_TIMEOUT', ambiguous: true });
    expect(results.filter((r) => r.kind === 'accepted').length).toBe(3000 - failed.length);
    expect(client.stats().timeouts).toBe(failed.length);
    expect(client.stats().inFlight).toBe(0);
    expect(client.stats().pool.activeStreams).toBe(0);
  });

  it('a black-holed connection (PINGs unanswered) is declared dead and replaced', async () => {
    fixture = await startFixture({ auth, faults: { ignorePings: true } });
    const client = fixture.client({ connections: 1, heartbeatMs: 100, heartbeatTimeoutMs: 150 });
    const [first, second] = fixture.devices(2);
    const closed = new Promise<Record<string, unknown>>((resolve) => {
      const onMessage = (message: unknown) => {
        const event = message as Record<string, unknown>;
        if (event['event'] === 'closed' && event['origin'] === client.origin) {
          diagnosticsChannel.unsubscribe('pushkeeper:apns:connection', onMessage);
          resolve(event);
        }
      };
      diagnosticsChannel.subscribe('pushkeeper:apns:connection', onMessage);
    });
    expect(await client.send(alert(first!))).toMatchObject({ kind: 'accepted' });
    const event = await closed;
    expect(event['error']).toBe('PK_ERR_APNS_CONNECTION');
    expect(fixture.server.stats.pingsIgnored).toBeGreaterThan(0);
    fixture.server.setFaults({});
    expect(await client.send(alert(second!))).toMatchObject({ kind: 'accepted' });
    expect(fixture.server.stats.connectionsOpened).toBe(2);
    expect(client.stats().pool.opened).toBe(2);
  });

  it('an idle connection closes itself; the next send opens a new one', async () => {
    fixture = await startFixture({ auth });
    const client = fixture.client({ connections: 1, idleTimeoutMs: 100 });
    const [first, second] = fixture.devices(2);
    const closed = new Promise<void>((resolve) => {
      const onMessage = (message: unknown) => {
        const event = message as Record<string, unknown>;
        if (event['event'] === 'closed' && event['origin'] === client.origin) {
          diagnosticsChannel.unsubscribe('pushkeeper:apns:connection', onMessage);
          resolve();
        }
      };
      diagnosticsChannel.subscribe('pushkeeper:apns:connection', onMessage);
    });
    expect(await client.send(alert(first!))).toMatchObject({ kind: 'accepted' });
    await closed;
    expect(client.stats().pool.open).toBe(0);
    expect(await client.send(alert(second!))).toMatchObject({ kind: 'accepted' });
    expect(fixture.server.stats.connectionsOpened).toBe(2);
  });

  it('an endpoint that refuses connections: every send fails, unambiguous, after bounded reconnects', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    fixture = await startFixture({ auth });
    const client = fixture.client({ origin: `https://127.0.0.1:${port}`, retry: { maxAttempts: 3 } });
    const results = await Promise.all(fixture.devices(50).map((token) => client.send(alert(token))));
    for (const result of results) expect(result).toMatchObject({ kind: 'failed', code: 'PK_ERR_APNS_CONNECTION', ambiguous: false });
    // one connection attempt serves every waiting request: at most (pool size × attempts) connects,
    // not one per request
    expect(client.stats().pool.failedConnects).toBeLessThanOrEqual(2 * 3);
  });

  it('a server certificate from an untrusted CA fails as a TLS error', async () => {
    fixture = await startFixture({ auth });
    const other = await createTestPki();
    const client = fixture.client({ ca: other.caCertPem, retry: { maxAttempts: 2 } });
    const [token] = fixture.devices(1);
    expect(await client.send(alert(token!))).toMatchObject({ kind: 'failed', code: 'PK_ERR_APNS_TLS', ambiguous: false });
  });
});
