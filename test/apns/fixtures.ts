/** Shared set-up for the client's tests: a mock APNs server, a signing key, registered devices. */
import { randomBytes } from 'node:crypto';
import { ApnsClient, type ApnsClientOptions } from '../../src/apns/index.ts';
import {
  generateSigningKey,
  type MockApnsServer,
  type MockApnsServerOptions,
  startMockApnsServer,
  type TestSigningKey,
} from '../../src/testing/index.ts';

export const BUNDLE_ID = 'com.example.pushkeeper';

export function randomToken(): string {
  return randomBytes(32).toString('hex');
}

export interface TokenFixture {
  readonly server: MockApnsServer;
  readonly key: TestSigningKey;
  readonly clients: ApnsClient[];
  client(options?: Partial<ApnsClientOptions>): ApnsClient;
  devices(count: number): string[];
  close(): Promise<void>;
}

export async function startTokenFixture(serverOptions: MockApnsServerOptions = {}): Promise<TokenFixture> {
  const key = generateSigningKey({ teamId: 'TEAM123456', keyId: 'KEY1234567' });
  const server = await startMockApnsServer({
    ...serverOptions,
    signingKeys: [{ teamId: key.teamId, keyId: key.keyId, publicKeyPem: key.publicKeyPem }, ...(serverOptions.signingKeys ?? [])],
  });
  const clients: ApnsClient[] = [];
  return {
    server,
    key,
    clients,
    client(options = {}) {
      const client = new ApnsClient({
        origin: server.url,
        ca: server.caPem,
        auth: { kind: 'token', key: { teamId: key.teamId, keyId: key.keyId, privateKeyPem: key.privateKeyPem } },
        ...options,
      });
      clients.push(client);
      return client;
    },
    devices(count) {
      const tokens: string[] = [];
      for (let i = 0; i < count; i++) {
        const token = randomToken();
        server.registerDevice(token, { topic: BUNDLE_ID });
        tokens.push(token);
      }
      return tokens;
    },
    async close() {
      for (const client of clients) client.destroy();
      await server.close();
    },
  };
}

export function alert(token: string, extra: Record<string, unknown> = {}) {
  return { token, bundleId: BUNDLE_ID, payload: { aps: { alert: 'hello' } }, ...extra };
}
