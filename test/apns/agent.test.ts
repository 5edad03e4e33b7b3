/** The agent isolates credentials: one app's broken credentials never touch another's sends. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApnsAgent, type ApnsCredentials } from '../../src/apns/index.ts';
import type { SendResult } from '../../src/domain/index.ts';
import {
  createTestPki,
  generateSigningKey,
  type MockApnsServer,
  startMockApnsServer,
  type TestPki,
} from '../../src/testing/index.ts';
import { alert, randomToken } from './fixtures.ts';

let pki: TestPki;
let server: MockApnsServer;
const keyB = generateSigningKey({ teamId: 'TEAMBBBBBB', keyId: 'KEYBBBBBBB' });
const unknownKeyA = generateSigningKey({ teamId: 'TEAMAAAAAA', keyId: 'KEYAAAAAAA' });

beforeAll(async () => {
  pki = await createTestPki();
  server = await startMockApnsServer({
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem },
    signingKeys: [{ teamId: keyB.teamId, keyId: keyB.keyId, publicKeyPem: keyB.publicKeyPem }],
  });
});
afterAll(async () => {
  await server?.close();
});

function appB(): ApnsCredentials & { kind: 'token' } {
  return { id: 'app-b', kind: 'token', teamId: keyB.teamId, keyId: keyB.keyId, privateKeyPem: keyB.privateKeyPem };
}

async function sendBoth(agent: ApnsAgent, a: ApnsCredentials, environmentA: 'production' | 'sandbox', count: number) {
  const tokensA = Array.from({ length: count }, () => randomToken());
  const tokensB = Array.from({ length: count }, () => randomToken());
  for (const token of tokensA) server.registerDevice(token, { topic: 'com.example.a' });
  for (const token of tokensB) server.registerDevice(token, { topic: 'com.example.b' });
  const sends: Promise<SendResult>[] = [];
  for (let i = 0; i < count; i++) {
    sends.push(agent.send(a, environmentA, { ...alert(tokensA[i]!), bundleId: 'com.example.a' }));
    sends.push(agent.send(appB(), 'production', { ...alert(tokensB[i]!), bundleId: 'com.example.b' }));
  }
  const results = await Promise.all(sends);
  return { a: results.filter((_, i) => i % 2 === 0), b: results.filter((_, i) => i % 2 === 1) };
}

describe('ApnsAgent', () => {
  it("app A's unknown key (403 InvalidProviderToken) leaves app B's sends untouched", async () => {
    const agent = new ApnsAgent({ endpoints: { production: { origin: server.url, ca: pki.caCertPem } } });
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
    const certificate = await pki.issueClientCertificate({ bundleId: 'com.example.a', environments: ['sandbox'] });
    // App A is configured for sandbox but its sandbox endpoint points at a production server.
    const a: ApnsCredentials = {
      id: 'app-a-cert',
      kind: 'certificate',
      certificate,
      endpoints: { sandbox: { origin: server.url, ca: pki.caCertPem } },
    };
    const agent = new ApnsAgent({
      endpoints: { production: { origin: server.url, ca: pki.caCertPem } },
      client: { retry: { maxAttempts: 2 } },
    });
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
      const b = { ...appB(), endpoints: { production: { origin: server.url, ca: pki.caCertPem } } };
      const token = randomToken();
      server.registerDevice(token, { topic: 'com.example.b' });
      expect(await agent.send(b, 'production', { ...alert(token), bundleId: 'com.example.b' })).toMatchObject({ kind: 'accepted' });
      expect(agent.endpointFor(appB(), 'sandbox').origin).toBe('https://api.sandbox.push.apple.com:443');
      await agent.evict('app-b');
      expect(agent.stats().clients).toBe(0);
      const bad = await agent.send({ ...appB(), privateKeyPem: 'garbage' }, 'production', alert(token));
      expect(bad).toMatchObject({ kind: 'failed', code: 'PK_ERR_CREDENTIALS_INVALID', ambiguous: false });
    } finally {
      await agent.close();
    }
  });
});
