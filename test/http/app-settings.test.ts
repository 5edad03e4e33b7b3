/**
 * App settings through the real service over a real store: PATCH changes only the fields it names,
 * every setting is validated on save (a clear 400, nothing written), the app shows each provider's
 * health, and credentials:verify proves credentials live against the mock APNs server.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestPki,
  generateSigningKey,
  type MockApnsServer,
  startMockApnsServer,
  type TestPki,
} from '../../src/testing/index.ts';
import { bearer, createApp, createHarness, type Harness } from './harness.ts';

let h: Harness;
let pki: TestPki;
let production: MockApnsServer;
let sandbox: MockApnsServer;
const signing = generateSigningKey({ teamId: 'TEAM123456', keyId: 'KEYVERIFY1' });

beforeAll(async () => {
  h = await createHarness();
  pki = await createTestPki();
  const tls = { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem };
  const signingKeys = [{ teamId: signing.teamId, keyId: signing.keyId, publicKeyPem: signing.publicKeyPem }];
  production = await startMockApnsServer({ tls, environment: 'production', signingKeys });
  sandbox = await startMockApnsServer({ tls, environment: 'sandbox', signingKeys });
});
afterAll(async () => {
  await h.close();
  await production.close();
  await sandbox.close();
});

const patch = (appId: string, payload: unknown) =>
  h.app.inject({ method: 'PATCH', url: `/v1/apps/${appId}`, headers: bearer(h.adminToken), payload: payload as object });
const show = async (appId: string) =>
  (await h.app.inject({ method: 'GET', url: `/v1/apps/${appId}`, headers: bearer(h.adminToken) })).json();

describe('PATCH /v1/apps/:app changes only what it names', () => {
  it('a CA alone keeps both endpoints; one endpoint alone keeps the other and the CA', async () => {
    const app = await createApp(h, 'Partial', {
      endpoints: { production: 'https://127.0.0.1:4443', sandbox: 'https://127.0.0.1:4444' },
    });
    const withCa = await patch(app.id, { endpoints: { caPem: pki.caCertPem } });
    expect(withCa.statusCode).toBe(200);
    expect(withCa.json().endpoints).toMatchObject({
      production: 'https://127.0.0.1:4443',
      sandbox: 'https://127.0.0.1:4444',
      hasCa: true,
    });
    expect(withCa.json().endpoints.ca.sha256).toMatch(/^[0-9A-F:]+$/);
    const moved = await patch(app.id, { endpoints: { production: 'https://127.0.0.1:5443' } });
    expect(moved.json().endpoints).toMatchObject({ production: 'https://127.0.0.1:5443', sandbox: 'https://127.0.0.1:4444', hasCa: true });
    const cleared = await patch(app.id, { endpoints: { sandbox: null } });
    expect(cleared.json().endpoints).toMatchObject({ production: 'https://127.0.0.1:5443', sandbox: null, hasCa: true });
    const renamed = await patch(app.id, { name: 'Renamed' });
    expect(renamed.json().endpoints).toMatchObject({ production: 'https://127.0.0.1:5443', hasCa: true });
  });

  it('shows each provider health; a new key makes an unauthorized app healthy', async () => {
    const app = await createApp(h, 'Health');
    expect((await show(app.id)).health).toEqual({ apns: { status: 'healthy', reason: null, since: null } });
    await h.store.apps.setApnsHealth(app.id, { status: 'unauthorized', reason: 'InvalidProviderToken', since: new Date() });
    expect((await show(app.id)).health.apns).toMatchObject({ status: 'unauthorized', reason: 'InvalidProviderToken' });
    const rotated = await patch(app.id, { apns: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYVERIFY1', privateKey: signing.privateKeyPem } });
    expect(rotated.json().health.apns.status).toBe('healthy');
  });
});

describe('validation on save', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cases: [string, Record<string, unknown>, string][] = [
    ['a CA that is not PEM', { endpoints: { caPem: 'not a pem' } }, 'PK_ERR_CA_INVALID'],
    ['a CA block that does not parse', { endpoints: { caPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' } }, 'PK_ERR_CA_INVALID'],
    ['an endpoint without a host', { endpoints: { production: 'https://' } }, 'PK_ERR_'],
    ['an endpoint with a path', { endpoints: { sandbox: 'https://apns.example/3/device' } }, 'PK_ERR_ENDPOINT_INVALID'],
    ['an empty .p8', { apns: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: ' ' } }, 'PK_ERR_CREDENTIALS_INVALID'],
    ['an RSA key as .p8', { apns: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: rsa } }, 'PK_ERR_CREDENTIALS_INVALID'],
    [
      'a certificate with another key',
      { apns: { auth: 'certificate', certPem: '', keyPem: rsa } },
      'PK_ERR_',
    ],
  ];
  it.each(cases)('refuses %s with a 400 and changes nothing', async (_name, body, code) => {
    const app = await createApp(h, 'Strict', { endpoints: { production: 'https://127.0.0.1:4443' } });
    const before = await show(app.id);
    const response = await patch(app.id, body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code.startsWith(code)).toBe(true);
    expect(await show(app.id)).toEqual(before);
  });

  it('refuses a certificate whose key is not its own', async () => {
    const other = await createTestPki();
    const app = await createApp(h, 'Cert');
    const response = await patch(app.id, { apns: { auth: 'certificate', certPem: pki.serverCertPem, keyPem: other.serverKeyPem } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('PK_ERR_CREDENTIALS_INVALID');
  });
});

describe('POST /v1/apps/:app/credentials:verify', () => {
  const verify = (appId: string) =>
    h.app.inject({ method: 'POST', url: `/v1/apps/${appId}/credentials:verify`, headers: bearer(h.adminToken) });
  const token = (keyId: string, privateKey: string) => ({ auth: 'token', teamId: 'TEAM123456', keyId, privateKey });

  it('answers ok for live credentials, unauthorized for a key APNs does not know, unreachable for a closed port', async () => {
    const endpoints = { production: production.url, sandbox: sandbox.url, caPem: pki.caCertPem };
    const live = await createApp(h, 'Live', { apns: token('KEYVERIFY1', signing.privateKeyPem), endpoints });
    const ok = await verify(live.id);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().apns).toMatchObject({ status: 'ok', environments: { production: { status: 'ok' }, sandbox: { status: 'ok' } } });
    expect((await show(live.id)).health.apns.status).toBe('healthy');

    const unknown = generateSigningKey({ teamId: 'TEAM123456', keyId: 'KEYUNKNOWN' });
    const refused = await createApp(h, 'Refused', { apns: token('KEYUNKNOWN', unknown.privateKeyPem), endpoints });
    const denied = await verify(refused.id);
    expect(denied.json().apns.status).toBe('unauthorized');
    expect((await show(refused.id)).health.apns).toMatchObject({ status: 'unauthorized' });

    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const closed = `https://127.0.0.1:${port}`;
    const nowhere = await createApp(h, 'Nowhere', {
      apns: token('KEYVERIFY1', signing.privateKeyPem),
      endpoints: { production: closed, sandbox: closed, caPem: pki.caCertPem },
    });
    const unreachable = await verify(nowhere.id);
    expect(unreachable.json().apns.status).toBe('unreachable');
    expect((await show(nowhere.id)).health.apns.status).toBe('unreachable');
    expect((await verify('app_missing')).statusCode).toBe(404);
  }, 60_000);
});
