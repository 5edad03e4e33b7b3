/** GOAWAY with a last-stream-id below the streams in flight, against the mock over TLS + HTTP/2. */
import { afterEach, expect, it } from 'vitest';
import type { SendResult } from '../../src/domain/index.ts';
import { alert, startTokenFixture, type TokenFixture } from './fixtures.ts';

let fixture: TokenFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function collect(iterable: AsyncIterable<{ result: SendResult }>) {
  const results: SendResult[] = [];
  for await (const { result } of iterable) results.push(result);
  return results;
}

it('last-stream-id below in-flight streams: those are resent, none lost, none duplicated', async () => {
  fixture = await startTokenFixture({
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
