import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_CACHE_TTL_MS } from '../../src/http/key-cache.ts';
import { bearer, createApp, createHarness, type Harness, P8_KEY } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const tokenApns = { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: P8_KEY };

describe('POST /v1/apps', () => {
  it('creates an app and answers a server and a publishable key once, never the credentials', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/apps',
      headers: bearer(h.adminToken),
      payload: {
        name: 'Example',
        topic: 'com.example.app',
        apns: tokenApns,
        endpoints: { production: 'https://127.0.0.1:4443', sandbox: 'https://127.0.0.1:4444' },
        feedback: { host: '127.0.0.1', port: 2196, intervalHours: 12 },
        webhook: { url: 'https://example.test/hook', secret: 'webhook-secret-value' },
      },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body.id).toMatch(/^app_/);
    expect(body.apiKey).toMatch(/^pk_server_[A-Za-z0-9_-]{43}$/);
    expect(body.publishableKey).toMatch(/^pk_pub_[A-Za-z0-9_-]{43}$/);
    expect(body.keys.map((k: { scope: string }) => k.scope).sort()).toEqual(['publishable', 'server']);
    expect(body.endpoints).toEqual({
      production: 'https://127.0.0.1:4443',
      sandbox: 'https://127.0.0.1:4444',
      hasCa: false,
      ca: null,
    });
    expect(body.webhookUrl).toBe('https://example.test/hook');
    expect(response.body).not.toContain('PRIVATE KEY');
    expect(response.body).not.toContain('webhook-secret-value');
    // The stored hash is the SHA-256 of the key, the key itself is nowhere in the store.
    const keys = await h.store.keys.list(body.id);
    expect(keys).toHaveLength(2);
    expect(keys.some((k) => body.apiKey.startsWith(k.prefix))).toBe(true);
  });

  it('refuses without a key (401), with a wrong key (401) and with an app key (403)', async () => {
    const created = await createApp(h, 'Other');
    const payload = { name: 'X', topic: 'com.x', apns: tokenApns };
    const none = await h.app.inject({ method: 'POST', url: '/v1/apps', payload });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('PK_ERR_API_KEY_MISSING');
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const wrong = await h.app.inject({
      method: 'POST',
      url: '/v1/apps',
      payload,
      headers: bearer(`${h.adminToken}x`),
    });
    expect(wrong.json().error.code).toBe('PK_ERR_UNAUTHENTICATED');
    const basic = await h.app.inject({
      method: 'POST',
      url: '/v1/apps',
      payload,
      headers: { authorization: `Basic ${h.adminToken}` },
    });
    expect(basic.statusCode).toBe(401);
    const appKey = await h.app.inject({
      method: 'POST',
      url: '/v1/apps',
      payload,
      headers: bearer(created.apiKey),
    });
    expect(appKey.statusCode).toBe(403);
    expect(appKey.json().error.code).toBe('PK_ERR_FORBIDDEN');
  });

  it.each([
    ['missing name', { topic: 'com.x', apns: tokenApns }, 'PK_ERR_VALIDATION'],
    ['unknown field', { name: 'X', topic: 'com.x', apns: tokenApns, colour: 'red' }, 'PK_ERR_VALIDATION'],
    [
      'bad team id',
      { name: 'X', topic: 'com.x', apns: { ...tokenApns, teamId: 'short' } },
      'PK_ERR_VALIDATION',
    ],
    ['bad auth kind', { name: 'X', topic: 'com.x', apns: { auth: 'password' } }, 'PK_ERR_VALIDATION'],
    [
      'http endpoint',
      { name: 'X', topic: 'com.x', apns: tokenApns, endpoints: { production: 'http://x' } },
      'PK_ERR_VALIDATION',
    ],
  ])('answers 400 for %s and creates nothing', async (_name, payload, code) => {
    const before = await h.store.apps.list({ limit: 1000 });
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/apps',
      payload,
      headers: bearer(h.adminToken),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe(code);
    expect(response.json().error.details.issues.length).toBeGreaterThan(0);
    const after = await h.store.apps.list({ limit: 1000 });
    expect(after.ok && after.value.items.length).toBe(before.ok && before.value.items.length);
  });

  it.each([
    [
      'a .p8 that is not a key',
      { ...tokenApns, privateKey: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----' },
      'unreadable-p8',
    ],
    [
      'an RSA key instead of P-256',
      {
        ...tokenApns,
        privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      },
      'not-p256',
    ],
    ['a certificate that does not load', { auth: 'certificate', certPem: 'x', keyPem: 'y' }, 'unreadable'],
  ])('answers 400 PK_ERR_CREDENTIALS_INVALID for %s', async (_name, apns, reason) => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/apps',
      headers: bearer(h.adminToken),
      payload: { name: 'Bad credentials', topic: 'com.x', apns },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'PK_ERR_CREDENTIALS_INVALID', details: { reason } });
    expect(response.body).not.toContain('BEGIN');
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/apps',
      headers: { ...bearer(h.adminToken), 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: 'PK_ERR_VALIDATION',
      details: { reason: 'invalid-json' },
    });
  });
});

describe('GET/PATCH/DELETE /v1/apps/:app', () => {
  it('lists apps with cursor pagination', async () => {
    await createApp(h, 'Page 1');
    await createApp(h, 'Page 2');
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const url: string = `/v1/apps?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await h.app.inject({ method: 'GET', url, headers: bearer(h.adminToken) });
      expect(response.statusCode).toBe(200);
      const page = response.json();
      expect(page.items.length).toBeLessThanOrEqual(1);
      for (const item of page.items) seen.add(item.id);
      cursor = page.nextCursor;
    } while (cursor !== null);
    const all = await h.store.apps.list({ limit: 1000 });
    expect(seen.size).toBe(all.ok ? all.value.items.length : -1);
  });

  it('rejects a malformed cursor and an out-of-range limit', async () => {
    const cursor = await h.app.inject({
      method: 'GET',
      url: '/v1/apps?cursor=%%%',
      headers: bearer(h.adminToken),
    });
    expect(cursor.json().error.code).toBe('PK_ERR_CURSOR_INVALID');
    const limit = await h.app.inject({
      method: 'GET',
      url: '/v1/apps?limit=5000',
      headers: bearer(h.adminToken),
    });
    expect(limit.json().error.code).toBe('PK_ERR_VALIDATION');
  });

  it('shows an app to the admin and to its own server key, not to its publishable key', async () => {
    const app = await createApp(h);
    const admin = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}`,
      headers: bearer(h.adminToken),
    });
    expect(admin.statusCode).toBe(200);
    expect(admin.json().topic).toBe('com.example.app');
    const server = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}`,
      headers: bearer(app.apiKey),
    });
    expect(server.statusCode).toBe(200);
    const pub = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}`,
      headers: bearer(app.publishableKey),
    });
    expect(pub.statusCode).toBe(403);
    const missing = await h.app.inject({
      method: 'GET',
      url: '/v1/apps/app_nope',
      headers: bearer(h.adminToken),
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('PK_ERR_APP_NOT_FOUND');
  });

  it('patches name and rotates credentials; an app key may not', async () => {
    const app = await createApp(h);
    const patched = await h.app.inject({
      method: 'PATCH',
      url: `/v1/apps/${app.id}`,
      headers: bearer(h.adminToken),
      payload: {
        name: 'Renamed',
        apns: { auth: 'token', teamId: 'TEAM999999', keyId: 'KEYID99999', privateKey: P8_KEY },
        webhook: null,
      },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().name).toBe('Renamed');
    const secrets = await h.store.apps.getSecrets(app.id);
    expect(secrets?.credentials).toMatchObject({ teamId: 'TEAM999999' });
    const byServerKey = await h.app.inject({
      method: 'PATCH',
      url: `/v1/apps/${app.id}`,
      headers: bearer(app.apiKey),
      payload: { name: 'Hijacked' },
    });
    expect(byServerKey.statusCode).toBe(403);
    const empty = await h.app.inject({
      method: 'PATCH',
      url: `/v1/apps/${app.id}`,
      headers: bearer(h.adminToken),
      payload: {},
    });
    expect(empty.json().error.code).toBe('PK_ERR_VALIDATION');
    expect((await h.store.apps.get(app.id))?.name).toBe('Renamed');
  });

  it('deletes an app; its keys stop working', async () => {
    const app = await createApp(h);
    const deleted = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${app.id}`,
      headers: bearer(h.adminToken),
    });
    expect(deleted.statusCode).toBe(204);
    expect(await h.store.apps.get(app.id)).toBeNull();
    const again = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${app.id}`,
      headers: bearer(h.adminToken),
    });
    expect(again.statusCode).toBe(404);
    const withKey = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices`,
      headers: bearer(app.apiKey),
    });
    expect(withKey.statusCode).toBe(401);
  });
});

describe('keys', () => {
  it('issues, lists and revokes keys; a revoked key is refused at once', async () => {
    const app = await createApp(h);
    const issued = await h.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/keys`,
      headers: bearer(app.apiKey),
      payload: { scope: 'server' },
    });
    expect(issued.statusCode).toBe(201);
    const key = issued.json();
    expect(key.key).toMatch(/^pk_server_/);
    const works = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices`,
      headers: bearer(key.key),
    });
    expect(works.statusCode).toBe(200);

    const listed = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/keys`,
      headers: bearer(h.adminToken),
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items).toHaveLength(3);
    expect(listed.body).not.toContain(key.key);
    // last_used_at was recorded for the key that was just used.
    const used = listed.json().items.find((k: { id: string }) => k.id === key.id);
    expect(used.lastUsedAt).not.toBeNull();

    const revoked = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${app.id}/keys/${key.id}`,
      headers: bearer(app.apiKey),
    });
    expect(revoked.statusCode).toBe(204);
    const refused = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices`,
      headers: bearer(key.key),
    });
    expect(refused.statusCode).toBe(401);
    const unknown = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${app.id}/keys/key_nope`,
      headers: bearer(app.apiKey),
    });
    expect(unknown.json().error.code).toBe('PK_ERR_KEY_NOT_FOUND');
  });

  it('a revocation or app deletion through another API process takes effect there within the key cache bound', async () => {
    // Two API processes on one database: `other` reuses key lookups for KEY_CACHE_TTL_MS of its clock.
    let clockMs = Date.parse('2026-05-01T00:00:00Z');
    const other = await createHarness({}, { sameDatabaseAs: h, nowMs: () => clockMs });
    try {
      const app = await createApp(h);
      const list = (key: string) =>
        other.app.inject({ method: 'GET', url: `/v1/apps/${app.id}/devices`, headers: bearer(key) });
      expect((await list(app.apiKey)).statusCode).toBe(200);
      const keys = await h.store.keys.list(app.id);
      const server = keys.find((k) => k.scope === 'server')!;
      expect(await h.store.keys.revoke(app.id, server.id)).toBe(true);

      // Still within the bound: the other process has not looked again yet.
      clockMs += KEY_CACHE_TTL_MS - 1;
      expect((await list(app.apiKey)).statusCode).toBe(200);
      clockMs += 1;
      const refused = await list(app.apiKey);
      expect(refused.statusCode).toBe(401);
      expect(refused.json().error.code).toBe('PK_ERR_API_KEY_REVOKED');

      // An app deleted elsewhere: its publishable key stops working here within the same bound.
      const register = () =>
        other.app.inject({
          method: 'PUT',
          url: `/v1/apps/${app.id}/devices/${'ab'.repeat(32)}`,
          headers: bearer(app.publishableKey),
          payload: {},
        });
      expect((await register()).statusCode).toBe(201);
      expect(
        (await h.app.inject({ method: 'DELETE', url: `/v1/apps/${app.id}`, headers: bearer(h.adminToken) }))
          .statusCode,
      ).toBe(204);
      // Within the bound the cached key still authenticates, but the store refuses the write: the app is gone.
      const stale = await register();
      expect(stale.statusCode).toBe(404);
      expect(stale.json().error.code).toBe('PK_ERR_APP_NOT_FOUND');
      clockMs += KEY_CACHE_TTL_MS;
      expect((await register()).statusCode).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('validates the scope and refuses publishable keys', async () => {
    const app = await createApp(h);
    const bad = await h.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/keys`,
      headers: bearer(app.apiKey),
      payload: { scope: 'admin' },
    });
    expect(bad.json().error.code).toBe('PK_ERR_VALIDATION');
    const pub = await h.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/keys`,
      headers: bearer(app.publishableKey),
      payload: { scope: 'server' },
    });
    expect(pub.statusCode).toBe(403);
    const list = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/keys`,
      headers: bearer(app.publishableKey),
    });
    expect(list.statusCode).toBe(403);
  });
});
