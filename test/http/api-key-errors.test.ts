/**
 * Each way a request can fail to present a usable API key answers 401 with its own code, so the
 * caller learns what to fix: nothing sent, the key in X-API-Key, no `Bearer ` scheme, an unknown
 * key, a revoked key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createApp, createHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe('API key problems', () => {
  it('names each problem with its own code', async () => {
    const app = await createApp(h, 'Keys');
    const created = await h.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/keys`,
      headers: bearer(app.apiKey),
      payload: { scope: 'server' },
    });
    const revokedKey = created.json() as { id: string; key: string };
    const revoke = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${app.id}/keys/${revokedKey.id}`,
      headers: bearer(app.apiKey),
    });
    expect(revoke.statusCode).toBe(204);

    const cases: Array<[string, Record<string, string>, string]> = [
      ['nothing', {}, 'PK_ERR_API_KEY_MISSING'],
      ['an empty Authorization', { authorization: ' ' }, 'PK_ERR_API_KEY_MISSING'],
      ['X-API-Key', { 'x-api-key': app.apiKey }, 'PK_ERR_API_KEY_HEADER'],
      ['the key without Bearer', { authorization: app.apiKey }, 'PK_ERR_API_KEY_SCHEME'],
      ['Basic', { authorization: `Basic ${app.apiKey}` }, 'PK_ERR_API_KEY_SCHEME'],
      ['an unknown key', bearer(`${app.apiKey}x`), 'PK_ERR_UNAUTHENTICATED'],
      ['a revoked key', bearer(revokedKey.key), 'PK_ERR_API_KEY_REVOKED'],
    ];
    for (const [, headers, code] of cases) {
      const response = await h.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/devices`, headers });
      expect({ headers, status: response.statusCode, code: response.json().error.code }).toEqual({
        headers,
        status: 401,
        code,
      });
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
    // The right key in the right header still works.
    const ok = await h.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/devices`, headers: bearer(app.apiKey) });
    expect(ok.statusCode).toBe(200);
  });
});
