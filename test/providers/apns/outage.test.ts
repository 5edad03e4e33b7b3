/** 503 with retry-after for 30 s (virtual, 10× faster than real time): bounded by the retry budget. */
import { afterEach, describe, expect, it } from 'vitest';
import { fastClock } from './clocks.ts';
import { AUTH_MODES, alert, collect, type Fixture, startFixture } from './fixtures.ts';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe.each(AUTH_MODES)('outage over $auth auth', ({ auth }) => {
  it.each([
    { status: 503 as const, reason: 'ServiceUnavailable' },
    { status: 500 as const, reason: 'InternalServerError' },
  ])('$status $reason with retry-after 2 for 30 s: request rate within the budget, all delivered after', async ({ status, reason }) => {
    const clock = fastClock(10);
    fixture = await startFixture({ auth, now: clock.now, recordAccepted: false });
    const outageStart = clock.now();
    const outageEnd = outageStart + 30_000;
    fixture.server.setFaults({ statusWindow: { status, reason, retryAfterSeconds: 2, untilMs: outageEnd } });
    const budget = { ratio: 0.1, floorPerSecond: 10, maxTokens: 100 };
    const client = fixture.client({
      clock,
      connections: 1,
      retry: {
        maxAttempts: 100,
        baseDelayMs: 1000,
        maxDelayMs: 8000,
        budgetRatio: budget.ratio,
        budgetFloorPerSecond: budget.floorPerSecond,
        budgetMaxTokens: budget.maxTokens,
      },
    });
    const count = 300;
    const tokens = fixture.devices(count);
    const results = await collect(client.sendMany(tokens.map((token) => alert(token)), { concurrency: count }));

    expect(results.filter((r) => r.kind !== 'accepted')).toEqual([]);
    expect(fixture.server.acceptedCount).toBe(count);
    const duringOutage = fixture.server.rejections.filter((r) => r.at < outageEnd);
    expect(duringOutage.length).toBeGreaterThan(count);
    expect(duringOutage.every((r) => r.status === status)).toBe(true);
    // First attempts, plus what the budget allows: its initial tokens, ratio × first attempts and the
    // floor rate over the outage (plus one second of slack for the window's edge).
    const allowed = count + budget.floorPerSecond + budget.ratio * count + budget.floorPerSecond * 31;
    expect(duringOutage.length).toBeLessThanOrEqual(allowed);
    expect(client.stats().budget.waited).toBeGreaterThan(0);
    // retry-after: 2 — no notification is retried sooner than two (virtual) seconds after a rejection
    // (a lower bound only: sleeps never end early, by more than timer rounding).
    const byId = new Map<string, number[]>();
    for (const r of fixture.server.rejections) byId.set(r.apnsId, [...(byId.get(r.apnsId) ?? []), r.at]);
    for (const times of byId.values()) {
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1900);
    }
  });
});
