/** Certificate auth: loading PEM and PKCS#12, Apple's extensions, push-type rules, sending. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApnsClient, checkCertificatePush, loadClientCertificate } from '../../../src/providers/apns/index.ts';
import { createTestPki, type MockApnsServer, startMockApnsServer, type TestPki } from '../../../src/testing/index.ts';
import { alert, BUNDLE_ID, randomToken } from './fixtures.ts';

let pki: TestPki;
let server: MockApnsServer;
let dir: string;

beforeAll(async () => {
  pki = await createTestPki();
  server = await startMockApnsServer({ tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem } });
  dir = mkdtempSync(join(tmpdir(), 'pk-apns-cert-'));
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function toPkcs12(pem: { certPem: string; keyPem: string }, passphrase: string): Buffer {
  writeFileSync(join(dir, 'c.pem'), pem.certPem);
  writeFileSync(join(dir, 'k.pem'), pem.keyPem);
  execFileSync('openssl', ['pkcs12', '-export', '-in', join(dir, 'c.pem'), '-inkey', join(dir, 'k.pem'), '-out', join(dir, 'c.p12'), '-passout', `pass:${passphrase}`]);
  return readFileSync(join(dir, 'c.p12'));
}

describe('loadClientCertificate', () => {
  it('reads bundle id, environments and topics from a PEM pair', async () => {
    const pem = await pki.issueClientCertificate({
      bundleId: BUNDLE_ID,
      environments: ['production', 'sandbox'],
      topics: [BUNDLE_ID, `${BUNDLE_ID}.voip`, `${BUNDLE_ID}.complication`],
    });
    const loaded = loadClientCertificate(pem);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.value.bundleId).toBe(BUNDLE_ID);
    expect([...loaded.value.environments].sort()).toEqual(['production', 'sandbox']);
    expect(loaded.value.topics).toEqual([BUNDLE_ID, `${BUNDLE_ID}.voip`, `${BUNDLE_ID}.complication`]);
  });

  it('reads a PKCS#12 file with its passphrase, refuses a wrong one and garbage', async () => {
    const pem = await pki.issueClientCertificate({ bundleId: BUNDLE_ID, environments: ['sandbox'] });
    const p12 = toPkcs12(pem, 'secret');
    const loaded = loadClientCertificate({ pkcs12: p12, passphrase: 'secret' });
    expect(loaded.ok && loaded.value.environments).toEqual(['sandbox']);
    const wrong = loadClientCertificate({ pkcs12: p12, passphrase: 'nope' });
    expect(wrong.ok ? 'ok' : wrong.error.code).toBe('PK_ERR_CREDENTIALS_INVALID');
    const garbage = loadClientCertificate({ certPem: 'x', keyPem: 'y' });
    expect(garbage.ok ? 'ok' : garbage.error.code).toBe('PK_ERR_CREDENTIALS_INVALID');
    const mismatched = loadClientCertificate({ certPem: pem.certPem, keyPem: pki.serverKeyPem });
    expect(mismatched.ok ? 'ok' : mismatched.error.code).toBe('PK_ERR_CREDENTIALS_INVALID');
  });
});

describe('checkCertificatePush', () => {
  it('enforces token-only push types, environment and topics', async () => {
    const single = loadClientCertificate(await pki.issueClientCertificate({ bundleId: BUNDLE_ID, environments: ['production'] }));
    if (!single.ok) throw new Error('certificate');
    const code = (pushType: Parameters<typeof checkCertificatePush>[1]['pushType'], environment: 'production' | 'sandbox' = 'production', bundleId = BUNDLE_ID) => {
      const r = checkCertificatePush(single.value, { bundleId, pushType, environment });
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code('alert')).toBe('ok');
    expect(code('voip')).toBe('ok');
    expect(code('complication')).toBe('ok');
    expect(code('location')).toBe('PK_ERR_PUSH_TYPE_NEEDS_TOKEN_AUTH');
    expect(code('liveactivity')).toBe('PK_ERR_PUSH_TYPE_NEEDS_TOKEN_AUTH');
    expect(code('widgets')).toBe('PK_ERR_PUSH_TYPE_NEEDS_TOKEN_AUTH');
    expect(code('fileprovider')).toBe('PK_ERR_TOPIC_INVALID');
    expect(code('alert', 'sandbox')).toBe('PK_ERR_CREDENTIALS_INVALID');
    expect(code('alert', 'production', 'com.example.other')).toBe('PK_ERR_TOPIC_INVALID');
    const multi = loadClientCertificate(
      await pki.issueClientCertificate({ bundleId: BUNDLE_ID, environments: ['production'], topics: [BUNDLE_ID, `${BUNDLE_ID}.pushkit.fileprovider`] }),
    );
    if (!multi.ok) throw new Error('certificate');
    expect(checkCertificatePush(multi.value, { bundleId: BUNDLE_ID, pushType: 'fileprovider', environment: 'production' }).ok).toBe(true);
    expect(checkCertificatePush(multi.value, { bundleId: BUNDLE_ID, pushType: 'voip', environment: 'production' }).ok).toBe(false);
  });
});

describe('sending with a certificate', () => {
  it('PEM and PKCS#12 certificates are accepted by the mock; token-only types fail before the wire', async () => {
    const pem = await pki.issueClientCertificate({ bundleId: BUNDLE_ID, environments: ['production'] });
    const token = randomToken();
    server.registerDevice(token, { topic: BUNDLE_ID });
    for (const certificate of [pem, { pkcs12: toPkcs12(pem, 'pw'), passphrase: 'pw' }]) {
      const client = new ApnsClient({ origin: server.url, ca: pki.caCertPem, auth: { kind: 'certificate', certificate } });
      try {
        expect(await client.send(alert(token))).toMatchObject({ kind: 'accepted' });
        expect(await client.send({ ...alert(token), pushType: 'location', payload: {} })).toMatchObject({
          kind: 'failed',
          code: 'PK_ERR_PUSH_TYPE_NEEDS_TOKEN_AUTH',
          ambiguous: false,
        });
      } finally {
        await client.close();
      }
    }
    const last = server.accepted.at(-1);
    expect(last?.headers['authorization']).toBeUndefined();
    expect(last?.topic).toBe(BUNDLE_ID);
  });
});
