/** A mock FCM server (TLS, HTTP/2 + HTTP/1.1) with one service account, and FCM-shaped tokens. */
import { randomBytes } from 'node:crypto';
import { FcmClient, type FcmClientOptions } from '../../../src/providers/fcm/index.ts';
import {
  type MockFcmServer,
  type MockFcmServerOptions,
  type MockServiceAccountFile,
  startMockFcmServer,
} from '../../../src/testing/index.ts';

/** `<22-char installation id>:APA91b<rest>`: the shape of a current registration token. */
export function fcmToken(): string {
  return `${randomBytes(16).toString('base64url').slice(0, 22)}:APA91b${randomBytes(105).toString('base64url')}`;
}

export interface FcmFixture {
  readonly server: MockFcmServer;
  readonly account: MockServiceAccountFile;
  client(options?: Partial<FcmClientOptions>): FcmClient;
  /** `count` registered live tokens. */
  devices(count: number): string[];
  close(): Promise<void>;
}

export async function startFcmFixture(options: MockFcmServerOptions = {}): Promise<FcmFixture> {
  const server = await startMockFcmServer(options);
  const account = server.createServiceAccount();
  const clients: FcmClient[] = [];
  return {
    server,
    account,
    client(overrides = {}) {
      const client = new FcmClient({
        auth: { serviceAccount: account.json },
        origin: server.url,
        ca: server.caPem,
        ...overrides,
      });
      clients.push(client);
      return client;
    },
    devices(count) {
      return Array.from({ length: count }, () => {
        const token = fcmToken();
        server.registerDevice(token);
        return token;
      });
    },
    async close() {
      for (const client of clients) client.destroy();
      await server.close();
    },
  };
}
