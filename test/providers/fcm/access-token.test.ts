/**
 * The service account's access token: one request however many callers wait, refreshed five
 * minutes before expiry while the current token still serves, replaced once after a 401, and the
 * token endpoint's refusals as PK_ERR_FCM_AUTH_FAILED. Time is a fake clock; the endpoint is the
 * mock's real one (TLS), which verifies the RS256 assertion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccessTokenSource,
  parseServiceAccount,
  type ServiceAccount,
} from '../../../src/providers/fcm/index.ts';
import { type MockFcmServer, startMockFcmServer } from '../../../src/testing/index.ts';

let mock: MockFcmServer;
let account: ServiceAccount;
let now = Date.now();
const clock = { now: () => now, sleep: () => Promise.resolve() };

beforeAll(async () => {
  // The mock's clock is the same fake one: it checks iat/exp against its own time.
  mock = await startMockFcmServer({ now: () => now });
  const parsed = parseServiceAccount(mock.createServiceAccount().json);
  if (!parsed.ok) throw new Error(parsed.error.message);
  account = parsed.value;
});
afterAll(async () => {
  await mock?.close();
});

const source = () => new AccessTokenSource({ account, ca: mock.caPem, clock });

describe('AccessTokenSource', () => {
  it('makes one request for 100 concurrent callers', async () => {
    const tokens = source();
    const all = await Promise.all(Array.from({ length: 100 }, () => tokens.get()));
    expect(new Set(all.map((t) => t.value)).size).toBe(1);
    expect(tokens.stats().requests).toBe(1);
  });

  it('refreshes in the background five minutes before expiry, serving the current token meanwhile', async () => {
    const tokens = source();
    const first = await tokens.get();
    now += 3600_000 - 6 * 60_000;
    expect(tokens.peek()).toBe(first);
    expect(tokens.stats().requests).toBe(1);
    now += 2 * 60_000;
    expect(tokens.peek()).toBe(first);
    await expect.poll(() => tokens.stats().generation).toBe(2);
    expect(tokens.peek()?.value).not.toBe(first.value);
    expect(tokens.stats().requests).toBe(2);
  });

  it('after a 401, invalidating the refused generation mints one new token; a stale report changes nothing', async () => {
    const tokens = source();
    const first = await tokens.get();
    tokens.invalidate(first.generation);
    const again = await Promise.all([tokens.get(), tokens.get(), tokens.get()]);
    expect(new Set(again.map((t) => t.generation))).toEqual(new Set([2]));
    tokens.invalidate(first.generation);
    expect(tokens.peek()?.generation).toBe(2);
    expect(tokens.stats().requests).toBe(2);
  });

  it('a key the endpoint does not know is PK_ERR_FCM_AUTH_FAILED (invalid_grant, not retryable)', async () => {
    const other = parseServiceAccount({
      ...mock.createServiceAccount().json,
      client_email: 'ghost@mock-project.iam.gserviceaccount.com',
    });
    if (!other.ok) throw new Error(other.error.message);
    const tokens = new AccessTokenSource({ account: other.value, ca: mock.caPem, clock });
    await expect(tokens.get()).rejects.toMatchObject({
      code: 'PK_ERR_FCM_AUTH_FAILED',
      details: { error: 'invalid_grant', retryable: false },
    });
  });

  it('refuses service account files that cannot work, with reasons', () => {
    expect(parseServiceAccount('{')).toMatchObject({
      ok: false,
      error: { code: 'PK_ERR_FCM_SERVICE_ACCOUNT_INVALID', reason: 'not-json' },
    });
    expect(parseServiceAccount({ type: 'authorized_user' })).toMatchObject({
      ok: false,
      error: { reason: 'wrong-type' },
    });
    expect(
      parseServiceAccount({
        type: 'service_account',
        project_id: 'p',
        client_email: 'a@b',
        private_key: 'nope',
      }),
    ).toMatchObject({ ok: false, error: { reason: 'private-key' } });
  });
});
