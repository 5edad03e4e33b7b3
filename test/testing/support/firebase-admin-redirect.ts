/**
 * Points firebase-admin at a mock FCM server. firebase-admin has no endpoint option for messaging:
 * it calls `https://fcm.googleapis.com` (HTTP/1.1 through `httpAgent` for `send()`, `node:http2`'s
 * `connect()` for `sendEach()`) and Google's token endpoint. So:
 * - an https.Agent whose connections all go to the mock (its certificate covers Google's names);
 * - a Credential doing the JWT bearer grant against the mock's token endpoint (google-auth-library
 *   does not route the token request through `httpAgent`);
 * - optionally, `http2.connect` wrapped to reach the mock and to send `:scheme: https` instead of
 *   firebase-admin's `https:`, which nghttp2 (every node:http2 server) resets with PROTOCOL_ERROR.
 */
import { createSign } from 'node:crypto';
import https from 'node:https';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { MockFcmServer, MockServiceAccountFile } from '../../../src/testing/index.ts';

export function redirectingAgent(mock: MockFcmServer): https.Agent {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 100 });
  (agent as unknown as { createConnection: (options: tls.ConnectionOptions) => Duplex }).createConnection = (
    options,
  ) =>
    tls.connect({
      ...options,
      host: '127.0.0.1',
      port: mock.port,
      ca: mock.caPem,
      servername: options.servername ?? 'fcm.googleapis.com',
      ALPNProtocols: ['http/1.1'],
    });
  return agent;
}

/** A firebase-admin `Credential` minting tokens at the mock with the service account's key. */
export function mockCredential(account: MockServiceAccountFile, agent: https.Agent) {
  return {
    async getAccessToken(): Promise<{ access_token: string; expires_in: number }> {
      const now = Math.floor(Date.now() / 1000);
      const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const input = `${segment({ alg: 'RS256', typ: 'JWT', kid: account.json.private_key_id })}.${segment({
        iss: account.json.client_email,
        scope: 'https://www.googleapis.com/auth/firebase.messaging',
        aud: 'https://oauth2.googleapis.com/token',
        iat: now,
        exp: now + 3600,
      })}`;
      const signature = createSign('RSA-SHA256')
        .update(input)
        .sign(account.json.private_key)
        .toString('base64url');
      const form = new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: `${input}.${signature}`,
      }).toString();
      const text = await new Promise<string>((resolve, reject) => {
        const request = https.request(
          'https://oauth2.googleapis.com/token',
          { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
          (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => {
              body += chunk.toString('utf8');
            });
            response.on('end', () => resolve(body));
          },
        );
        request.on('error', reject);
        request.end(form);
      });
      return JSON.parse(text) as { access_token: string; expires_in: number };
    },
  };
}

/** Sends firebase-admin's HTTP/2 sessions to the mock; `fixScheme` corrects `:scheme`. Returns the undo. */
export function redirectHttp2(mock: MockFcmServer, options: { fixScheme: boolean }): () => void {
  const original = http2.connect;
  const patched = (_url: string | URL, sessionOptions?: http2.SecureClientSessionOptions) => {
    const session = original(mock.url, {
      ...sessionOptions,
      ca: mock.caPem,
      servername: 'fcm.googleapis.com',
    });
    if (options.fixScheme) {
      const request = session.request.bind(session);
      session.request = (
        headers?: http2.OutgoingHttpHeaders,
        requestOptions?: http2.ClientSessionRequestOptions,
      ) => request({ ...headers, ':scheme': 'https' }, requestOptions);
    }
    return session;
  };
  (http2 as { connect: unknown }).connect = patched;
  return () => {
    (http2 as { connect: unknown }).connect = original;
  };
}
