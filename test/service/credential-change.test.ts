/**
 * A credential, endpoint or CA change applies on the very next send, in every process: the APNs
 * agent keys its clients by a fingerprint of what they were built from, and each send job reads
 * the app's settings from the store, so no process needs to be told.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import { createTestPki, generateSigningKey, type MockApnsServer, startMockApnsServer } from '../../src/testing/index.ts';
import { PushkeeperProcesses } from './fixtures/pushkeeper-process.ts';
import { type Backend, BUNDLE_ID, createPostgresDatabase, type Harness, randomToken, startHarness, TEAM_ID } from './pipeline-harness.ts';

/** The `kid` of the provider token a notification was signed with (RFC 7515 §4.1.4). */
function keyIdOf(headers: Readonly<Record<string, string | string[] | undefined>>): string {
  const jwt = String(headers['authorization']).replace(/^bearer /i, '');
  const header = JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string };
  return header.kid;
}

async function pushOne(h: Harness, token: string) {
  const accepted = await h.pipeline.push.accept(h.app.id, { audience: { tokens: [token] }, payload: { aps: { alert: 'x' } } });
  if (!accepted.ok) throw new Error(accepted.error.code);
  return h.waitForFinal(accepted.value.notification.id);
}

describe.each<Backend>(['sqlite', 'postgres'])('settings changes on %s', (backend) => {
  let harness: Harness | undefined;
  const mocks: MockApnsServer[] = [];
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    for (const mock of mocks.splice(0)) await mock.close();
  });

  it('the push after a new key is signed with it; the push after new endpoints and CA goes there', async () => {
    harness = await startHarness(backend);
    const h = harness;
    const token = randomToken();
    await h.register(token, { environment: 'production' });
    expect((await pushOne(h, token)).status).toBe('done');
    expect(keyIdOf(h.production.accepted.at(-1)!.headers)).toBe('KEYID12345');

    const next = generateSigningKey({ teamId: TEAM_ID, keyId: 'KEYNEXT001' });
    h.production.addSigningKey({ teamId: TEAM_ID, keyId: next.keyId, publicKeyPem: next.publicKeyPem });
    const updated = await h.store.apps.update(h.app.id, {
      credentials: { auth: 'token', teamId: TEAM_ID, keyId: next.keyId, privateKey: next.privateKeyPem },
    });
    expect(updated.ok).toBe(true);
    expect((await pushOne(h, token)).status).toBe('done');
    expect(keyIdOf(h.production.accepted.at(-1)!.headers)).toBe('KEYNEXT001');

    // Another server with a certificate from another CA: both the endpoint and the CA change.
    const pki = await createTestPki();
    const other = await startMockApnsServer({
      tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
      environment: 'production',
      signingKeys: [{ teamId: TEAM_ID, keyId: next.keyId, publicKeyPem: next.publicKeyPem }],
    });
    mocks.push(other);
    other.registerDevice(token, { topic: BUNDLE_ID, environment: 'production' });
    await h.store.apps.update(h.app.id, { endpoints: { production: other.url, sandbox: h.sandbox.url, caPem: pki.caCertPem } });
    const before = h.production.accepted.length;
    expect((await pushOne(h, token)).status).toBe('done');
    expect(other.accepted.map((n) => n.token)).toEqual([token]);
    expect(h.production.accepted.length).toBe(before);
  });
});

describe('settings changes in a two-process cluster on PostgreSQL', () => {
  const processes = new PushkeeperProcesses();
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    await processes.killAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('after PATCHing a new key through one process, the next pushes of both processes are signed with it', async () => {
    const database = await createPostgresDatabase();
    cleanups.push(() => database.drop());
    const dir = mkdtempSync(join(tmpdir(), 'pk-cluster-keys-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const pki = await createTestPki();
    const first = generateSigningKey({ teamId: TEAM_ID, keyId: 'KEYFIRST01' });
    const next = generateSigningKey({ teamId: TEAM_ID, keyId: 'KEYNEXT002' });
    const mock = await startMockApnsServer({
      tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
      environment: 'production',
      signingKeys: [first, next].map((k) => ({ teamId: TEAM_ID, keyId: k.keyId, publicKeyPem: k.publicKeyPem })),
    });
    cleanups.push(() => mock.close());
    const secretKeyHex = randomBytes(32).toString('hex');
    const store = openStore({ url: database.url, secretKey: Buffer.from(secretKeyHex, 'hex') });
    cleanups.push(() => store.close());
    await store.migrate();
    const created = await store.apps.create({
      name: 'Cluster keys',
      topic: BUNDLE_ID,
      credentials: { auth: 'token', teamId: TEAM_ID, keyId: first.keyId, privateKey: first.privateKeyPem },
      endpoints: { production: mock.url, sandbox: mock.url, caPem: pki.caCertPem },
    });
    if (!created.ok) throw new Error(created.error.message);
    const appId = created.value.id;
    const token = randomToken();
    expect((await store.devices.register(appId, { token, environment: 'production' })).ok).toBe(true);
    mock.registerDevice(token, { topic: BUNDLE_ID, environment: 'production' });
    const admin = `pk_admin_${'d'.repeat(40)}`;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: dir,
      PUSHKEEPER_DATA_DIR: join(dir, 'data'),
      PUSHKEEPER_DATABASE_URL: database.url,
      PUSHKEEPER_PORT: '0',
      PUSHKEEPER_ADMIN_TOKEN: admin,
      PUSHKEEPER_SECRET_KEY: secretKeyHex,
      PUSHKEEPER_LOG_LEVEL: 'info',
      PUSHKEEPER_WORKER_CONCURRENCY: '1',
    };
    // One after the other: the first creates the queue's schema.
    const a = await processes.start(['serve'], env, { timeoutMs: 60_000 });
    const b = await processes.start(['serve'], env, { timeoutMs: 60_000 });
    const call = async (url: string, method: string, path: string, body: unknown) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const pushAndWait = async (url: string) => {
      const accepted = await call(url, 'POST', `/v1/apps/${appId}/notifications`, { audience: { tokens: [token] }, payload: { aps: { alert: 'x' } } });
      expect(accepted.status).toBe(202);
      for (;;) {
        const notification = await store.notifications.get(appId, String(accepted.body['id']));
        if (notification?.status === 'done') return;
        expect(notification?.status).not.toBe('failed');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // Push until both processes have sent with the first key, so both hold a client built from it.
    const sentBy = () => [a, b].map((p) => (p.output().match(/notification done/g) ?? []).length);
    for (let i = 0; i < 40 && sentBy().some((count) => count === 0); i += 1) await pushAndWait(i % 2 === 0 ? a.url : b.url);
    expect(sentBy().every((count) => count > 0)).toBe(true);
    expect(new Set(mock.accepted.map((n) => keyIdOf(n.headers)))).toEqual(new Set([first.keyId]));

    const patched = await call(a.url, 'PATCH', `/v1/apps/${appId}`, {
      apns: { auth: 'token', teamId: TEAM_ID, keyId: next.keyId, privateKey: next.privateKeyPem },
    });
    expect(patched.status).toBe(200);
    const afterPatch = mock.accepted.length;
    const doneBefore = sentBy();
    for (let i = 0; i < 40 && sentBy().some((count, index) => count === doneBefore[index]); i += 1) await pushAndWait(i % 2 === 0 ? b.url : a.url);
    expect(sentBy().every((count, index) => count > doneBefore[index]!)).toBe(true);
    expect(new Set(mock.accepted.slice(afterPatch).map((n) => keyIdOf(n.headers)))).toEqual(new Set([next.keyId]));
  }, 120_000);
});
