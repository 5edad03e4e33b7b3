/**
 * A publishable key is public: registrations through it are limited per device token, per client
 * address (within an app) and per app, each answering 429 PK_ERR_RATE_LIMITED with Retry-After and
 * the limit that was hit. The backend's server key is not limited this way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  type CreatedApp,
  createApp,
  createHarness,
  type Harness,
  tokenFor,
} from '../http/harness.ts';

let clockMs = Date.parse('2026-03-01T00:00:00Z');
let h: Harness;
let app: CreatedApp;
let other: CreatedApp;

beforeAll(async () => {
  h = await createHarness(
    {
      publishableRegistrationsPerHour: 2,
      publishableRegistrationsPerAddressPerHour: 4,
      publishableRegistrationsPerAppPerMinute: 6,
      trustProxy: '127.0.0.1',
    },
    { nowMs: () => clockMs },
  );
  app = await createApp(h, 'Limited');
  other = await createApp(h, 'Neighbour');
});
afterAll(async () => {
  await h.close();
});

let nextToken = 0x1000;
function freshToken(): string {
  nextToken += 1;
  return tokenFor(nextToken);
}
const register = (
  options: { address?: string; forwardedFor?: string; key?: string; appId?: string; token?: string } = {},
) =>
  h.app.inject({
    method: 'PUT',
    url: `/v1/apps/${options.appId ?? app.id}/devices/${options.token ?? freshToken()}`,
    headers: {
      ...bearer(options.key ?? app.publishableKey),
      ...(options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {}),
    },
    remoteAddress: options.address ?? '203.0.113.1',
    payload: {},
  });

function expectLimited(response: Awaited<ReturnType<typeof register>>, limit: string): void {
  expect(response.statusCode).toBe(429);
  expect(response.json().error).toMatchObject({ code: 'PK_ERR_RATE_LIMITED', details: { limit } });
  expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

describe('publishable registration limits', () => {
  it('per client address: one machine inventing tokens is stopped, others are not', async () => {
    for (let i = 0; i < 4; i += 1) expect((await register({ address: '198.51.100.7' })).statusCode).toBe(202);
    const refused = await register({ address: '198.51.100.7' });
    expectLimited(refused, 'registrations-per-address');
    expect(await h.store.devices.count(app.id)).toBe(4);
    expect((await register({ address: '198.51.100.8' })).statusCode).toBe(202);
    // The same address is its own budget in another app.
    expect(
      (await register({ address: '198.51.100.7', key: other.publishableKey, appId: other.id })).statusCode,
    ).toBe(202);
    // The backend is not limited by it.
    expect((await register({ address: '198.51.100.7', key: app.apiKey })).statusCode).toBe(201);
  });

  it('per client address behind a trusted proxy: the forwarded address counts, not the proxy', async () => {
    clockMs += 3_600_000;
    // Four clients behind the proxy, four registrations each: nobody is limited (the app's budget
    // of 6 a minute is given back between them)…
    for (let client = 1; client <= 4; client += 1) {
      for (let i = 0; i < 4; i += 1) {
        expect((await register({ address: '127.0.0.1', forwardedFor: `192.0.2.${client}` })).statusCode).toBe(
          202,
        );
      }
      clockMs += 60_000;
    }
    // … and the fifth of one of them is.
    expectLimited(
      await register({ address: '127.0.0.1', forwardedFor: '192.0.2.4' }),
      'registrations-per-address',
    );
    // An untrusted peer cannot pick its own address by sending the header.
    clockMs += 3_600_000;
    for (let i = 0; i < 4; i += 1) {
      expect(
        (await register({ address: '203.0.113.50', forwardedFor: `192.0.2.${100 + i}` })).statusCode,
      ).toBe(202);
    }
    expectLimited(
      await register({ address: '203.0.113.50', forwardedFor: '192.0.2.200' }),
      'registrations-per-address',
    );
  });

  it('per app: many machines together are stopped at the app budget', async () => {
    clockMs += 3_600_000;
    const before = await h.store.devices.count(app.id);
    for (let i = 0; i < 6; i += 1)
      expect((await register({ address: `203.0.113.${100 + i}` })).statusCode).toBe(202);
    expectLimited(await register({ address: '203.0.113.200' }), 'registrations-per-app');
    expect(await h.store.devices.count(app.id)).toBe(before + 6);
    // Another app has its own budget; a minute later this one has its budget back.
    expect(
      (await register({ address: '203.0.113.200', key: other.publishableKey, appId: other.id })).statusCode,
    ).toBe(202);
    clockMs += 60_000;
    expect((await register({ address: '203.0.113.201' })).statusCode).toBe(202);
  });

  it('per device token, checked first: a looping device does not spend its address budget', async () => {
    clockMs += 3_600_000;
    const token = tokenFor(0xd00d);
    for (let i = 0; i < 2; i += 1)
      expect((await register({ token, address: '198.51.100.30' })).statusCode).toBe(202);
    for (let i = 0; i < 5; i += 1)
      expectLimited(await register({ token, address: '198.51.100.30' }), 'registrations-per-token');
    for (let i = 0; i < 2; i += 1)
      expect((await register({ address: '198.51.100.30' })).statusCode).toBe(202);
  });
});
