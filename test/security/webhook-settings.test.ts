/**
 * Saving a webhook through the API: the URL policy and the secret's length are checked before
 * anything is stored, each refusal with its own code; the operator's switch allows receivers
 * inside the network.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type CreatedApp, createApp, createHarness, type Harness, P8_KEY } from '../http/harness.ts';

const SECRET = 'a-webhook-secret-of-32-bytes-or-more!';
let strict: Harness;
let lenient: Harness;
let app: CreatedApp;

beforeAll(async () => {
  strict = await createHarness();
  lenient = await createHarness({ webhookAllowPrivate: true });
  app = await createApp(strict, 'Hooks');
});
afterAll(async () => {
  await strict.close();
  await lenient.close();
});

const patch = (h: Harness, appId: string, webhook: unknown) =>
  h.app.inject({
    method: 'PATCH',
    url: `/v1/apps/${appId}`,
    headers: bearer(h.adminToken),
    payload: { webhook },
  });

describe('saving a webhook', () => {
  it.each([
    ['plain http', 'http://hooks.example.com/pk', 'PK_ERR_WEBHOOK_URL_REFUSED', 'scheme'],
    ['loopback', 'https://127.0.0.1:8443/pk', 'PK_ERR_WEBHOOK_URL_REFUSED', 'loopback-address'],
    ['loopback as a number', 'https://2130706433/pk', 'PK_ERR_WEBHOOK_URL_REFUSED', 'loopback-address'],
    ['localhost', 'https://localhost/pk', 'PK_ERR_WEBHOOK_URL_REFUSED', 'loopback-address'],
    ['a private address', 'https://10.0.0.8/pk', 'PK_ERR_WEBHOOK_URL_REFUSED', 'private-address'],
    [
      'the metadata service',
      'https://169.254.169.254/latest',
      'PK_ERR_WEBHOOK_URL_REFUSED',
      'link-local-address',
    ],
    ['a unique-local address', 'https://[fd00::1]/pk', 'PK_ERR_WEBHOOK_URL_REFUSED', 'unique-local-address'],
    [
      'an IPv4-mapped loopback',
      'https://[::ffff:127.0.0.1]/pk',
      'PK_ERR_WEBHOOK_URL_REFUSED',
      'loopback-address',
    ],
    [
      'credentials in the URL',
      'https://u:p@hooks.example.com/pk',
      'PK_ERR_WEBHOOK_URL_REFUSED',
      'credentials-in-url',
    ],
  ])('refuses %s (400) and keeps what was stored', async (_name, url, code, reason) => {
    const response = await patch(strict, app.id, { url, secret: SECRET });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code, details: { reason } });
    expect((await strict.store.apps.get(app.id))?.webhookUrl).toBeNull();
  });

  it('refuses a secret under 32 bytes, on create and on change', async () => {
    const short = await patch(strict, app.id, {
      url: 'https://hooks.example.com/pk',
      secret: 'x'.repeat(31),
    });
    expect(short.statusCode).toBe(400);
    expect(short.json().error).toMatchObject({
      code: 'PK_ERR_WEBHOOK_SECRET_TOO_SHORT',
      details: { minBytes: 32 },
    });
    await expect(
      createApp(strict, 'Short', { webhook: { url: 'https://hooks.example.com/pk', secret: 'one' } }),
    ).rejects.toThrow(/PK_ERR_WEBHOOK_SECRET_TOO_SHORT/);
    const refusedOnCreate = await strict.app.inject({
      method: 'POST',
      url: '/v1/apps',
      headers: bearer(strict.adminToken),
      payload: {
        name: 'Private',
        topic: 'com.example.private',
        apns: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: P8_KEY },
        webhook: { url: 'https://192.168.1.20/pk', secret: SECRET },
      },
    });
    expect(refusedOnCreate.statusCode).toBe(400);
    expect(refusedOnCreate.json().error.code).toBe('PK_ERR_WEBHOOK_URL_REFUSED');
  });

  it('accepts https to a public name, and clears with null', async () => {
    const saved = await patch(strict, app.id, { url: 'https://hooks.example.com/pk', secret: SECRET });
    expect(saved.statusCode).toBe(200);
    expect(saved.json().webhookUrl).toBe('https://hooks.example.com/pk');
    expect((await patch(strict, app.id, null)).json().webhookUrl).toBeNull();
  });

  it('with PUSHKEEPER_WEBHOOK_ALLOW_PRIVATE: private receivers, and plain http to them only', async () => {
    const own = await createApp(lenient, 'Inside');
    expect(
      (await patch(lenient, own.id, { url: 'http://10.0.0.8:3000/pk', secret: SECRET })).statusCode,
    ).toBe(200);
    expect(
      (await patch(lenient, own.id, { url: 'https://127.0.0.1:8443/pk', secret: SECRET })).statusCode,
    ).toBe(200);
    const publicHttp = await patch(lenient, own.id, { url: 'http://8.8.8.8/pk', secret: SECRET });
    expect(publicHttp.json().error).toMatchObject({
      code: 'PK_ERR_WEBHOOK_URL_REFUSED',
      details: { reason: 'plain-http-to-public' },
    });
    // The secret rule does not relax.
    const short = await patch(lenient, own.id, { url: 'http://10.0.0.8:3000/pk', secret: 'short' });
    expect(short.json().error.code).toBe('PK_ERR_WEBHOOK_SECRET_TOO_SHORT');
  });
});
