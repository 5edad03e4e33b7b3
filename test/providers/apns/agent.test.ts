/**
 * The agent isolates credentials: one app's broken credentials never touch another's sends. App B,
 * the healthy one, runs in each auth mode; app A fails with a bad key and with a certificate for the
 * other environment in both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApnsAgent, type ApnsCredentials } from '../../../src/providers/apns/index.ts';
import type { SendResult } from '../../../src/domain/index.ts';
import { generateSigningKey } from '../../../src/testing/index.ts';
import { AUTH_MODES, alert, type Fixture, randomToken, startFixture } from './fixtures.ts';

const unknownKeyA = generateSigningKey({ teamId: 'TEAMAAAAAA', keyId: 'KEYAAAAAAA' });

/** The same credentials made unreadable: a key or certificate that is not PEM. */
function garbled(credentials: ApnsCredentials): ApnsCredentials {
  return credentials.kind === 'token'
    ? { ...credentials, privateKeyPem: 'garbage' }
    : { ...credentials, certificate: { certPem: 'garbage', keyPem: 'garbage' } };
}

describe.each(AUTH_MODES)('ApnsAgent, app B over $auth auth', ({ auth }) => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture({ auth });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  const appB = () => fixture.credentials('app-b');
  const production = () => ({ production: { origin: fixture.server.url, ca: fixture.pki.caCertPem } });

  async function sendBoth(agent: ApnsAgent, a: ApnsCredentials, environmentA: 'production' | 'sandbox', count: number) {
    const tokensA = Array.from({ length: count }, () => randomToken());
    for (const token of tokensA) fixture.server.registerDevice(token, { topic: 'com.example.a' });
    const tokensB = fixture.devices(count);
    const sends: Promise<SendResult>[] = [];
    for (let i = 0; i < count; i++) {
      sends.push(agent.send(a, environmentA, { ...alert(tokensA[i]!), bundleId: 'com.example.a' }));
      sends.push(agent.send(appB(), 'production', alert(tokensB[i]!)));
    }
    const results = await Promise.all(sends);
    return { a: results.filter((_, i) => i % 2 === 0), b: results.filter((_, i) => i % 2 === 1) };
  }

  it("app A's unknown key (403 InvalidProviderToken) leaves app B's sends untouched", async () => {
    const agent = new ApnsAgent({ endpoints: production() });
    try {
      const a: ApnsCredentials = {
        id: 'app-a',
        kind: 'token',
        teamId: unknownKeyA.teamId,
        keyId: unknownKeyA.keyId,
        privateKeyPem: unknownKeyA.privateKeyPem,
      };
      const { a: resultsA, b: resultsB } = await sendBoth(agent, a, 'production', 200);
      expect(resultsB.filter((r) => r.kind !== 'accepted')).toEqual([]);
      for (const r of resultsA) expect(r).toMatchObject({ kind: 'rejected', reason: 'InvalidProviderToken', disposition: 'reauth' });
      expect(agent.stats().clients).toBe(2);
    } finally {
      await agent.close();
    }
  });

  it("app A's certificate for the other environment (GOAWAY BadCertificateEnvironment) leaves app B untouched", async () => {
    const certificate = await fixture.pki.issueClientCertificate({ bundleId: 'com.example.a', environments: ['sandbox'] });
    // App A is configured for sandbox but its sandbox endpoint points at a production server.
    const a: ApnsCredentials = {
      id: 'app-a-cert',
      kind: 'certificate',
      certificate,
      endpoints: { sandbox: { origin: fixture.server.url, ca: fixture.pki.caCertPem } },
    };
    const agent = new ApnsAgent({ endpoints: production(), client: { retry: { maxAttempts: 2 } } });
    try {
      const { a: resultsA, b: resultsB } = await sendBoth(agent, a, 'sandbox', 50);
      expect(resultsB.filter((r) => r.kind !== 'accepted')).toEqual([]);
      // The first is APNs' answer; the rest fail fast instead of reconnecting to be refused again.
      expect(resultsA.filter((r) => r.kind === 'rejected' && r.reason === 'BadCertificateEnvironment').length).toBeGreaterThanOrEqual(1);
      for (const r of resultsA) {
        if (r.kind === 'rejected') expect(r).toMatchObject({ reason: 'BadCertificateEnvironment', disposition: 'reauth' });
        else expect(r).toMatchObject({ kind: 'failed', code: 'PK_ERR_APNS_CREDENTIALS_UNHEALTHY', ambiguous: false });
      }
    } finally {
      await agent.close();
    }
  });

  it('per-app endpoint overrides and eviction', async () => {
    const agent = new ApnsAgent();
    try {
      const b = { ...appB(), endpoints: production() };
      const [token] = fixture.devices(1);
      expect(await agent.send(b, 'production', alert(token!))).toMatchObject({ kind: 'accepted' });
      expect(agent.endpointFor(appB(), 'sandbox').origin).toBe('https://api.sandbox.push.apple.com:443');
      await agent.evict('app-b');
      expect(agent.stats().clients).toBe(0);
      const bad = await agent.send(garbled(appB()), 'production', alert(token!));
      expect(bad).toMatchObject({ kind: 'failed', code: 'PK_ERR_CREDENTIALS_INVALID', ambiguous: false });
    } finally {
      await agent.close();
    }
  });
});
