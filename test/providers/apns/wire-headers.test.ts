/**
 * What our own HTTP/2 session puts on the wire, as the mock (nghttp2) reads it: the pseudo-headers
 * it adds, HPACK-indexed headers that stay right across many requests on one connection, and a
 * UTF-8 collapse id carried as its octets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH_MODES, alert, collect, type Fixture, startFixture } from './fixtures.ts';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe.each(AUTH_MODES)('headers on the wire over $auth auth', ({ auth }) => {
  it('reach the server intact over 300 requests on one connection, a UTF-8 collapse id as its octets', async () => {
    fixture = await startFixture({ auth });
    const client = fixture.client({ connections: 1 });
    const tokens = fixture.devices(300);
    const collapseId = 'chat-é-💬';
    const results = await collect(
      client.sendMany(
        tokens.map((token, index) =>
          alert(token, {
            collapseId: index % 2 === 0 ? collapseId : `plain-${index}`,
            priority: index % 3 === 0 ? 5 : 10,
          }),
        ),
        { concurrency: 50 },
      ),
    );
    expect(results.filter((result) => result.kind !== 'accepted')).toEqual([]);
    const accepted = fixture.server.accepted;
    expect(accepted).toHaveLength(300);
    for (const record of accepted) {
      const index = tokens.indexOf(record.token);
      expect(index).toBeGreaterThanOrEqual(0);
      const expected = index % 2 === 0 ? collapseId : `plain-${index}`;
      // Node's server reads header values as UTF-8: the octets we sent were the UTF-8 ones.
      expect(record.collapseId).toBe(expected);
      expect(record.priority).toBe(index % 3 === 0 ? 5 : 10);
      expect(record.headers[':scheme']).toBe('https');
      expect(record.headers[':authority']).toBe(new URL(fixture.server.url).host);
    }
  });
});
