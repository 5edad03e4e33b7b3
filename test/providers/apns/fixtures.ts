/**
 * Shared set-up for the client's tests: a mock APNs server over real TLS + HTTP/2, credentials in
 * one of APNs' two auth modes, registered devices. A test that applies to both modes runs
 * `describe.each(AUTH_MODES)` over `startFixture({ auth, ... })`; what only exists with provider
 * tokens (JWT expiry, token refresh) asks for `auth: 'token'` alone.
 *
 * In certificate mode the mock trusts no signing key (unless a test passes `signingKeys`): a
 * notification it validates and accepts was authenticated by the client certificate, so a test that
 * ends in acceptances proves the mode.
 */
import { randomBytes } from 'node:crypto';
import { type ApnsAuth, ApnsClient, type ApnsClientOptions, type ApnsCredentials } from '../../../src/providers/apns/index.ts';
import type { SendResult } from '../../../src/domain/index.ts';
import {
  createTestPki,
  generateSigningKey,
  type MockApnsServer,
  type MockApnsServerOptions,
  startMockApnsServer,
  type TestPki,
  type TestSigningKey,
} from '../../../src/testing/index.ts';

export const BUNDLE_ID = 'com.example.pushkeeper';

export type AuthMode = 'token' | 'certificate';

/** For `describe.each(AUTH_MODES)('… over $auth auth', ({ auth }) => …)`. */
export const AUTH_MODES: readonly { readonly auth: AuthMode }[] = [{ auth: 'token' }, { auth: 'certificate' }];

export function randomToken(): string {
  return randomBytes(32).toString('hex');
}

/** The mock's options, except TLS: the fixture's own PKI signs the server and client certificates. */
export interface FixtureOptions extends Omit<MockApnsServerOptions, 'tls'> {
  readonly auth: AuthMode;
}

export interface Fixture {
  readonly auth: AuthMode;
  readonly server: MockApnsServer;
  /** Signed the server's certificate and, in certificate mode, the client's. */
  readonly pki: TestPki;
  readonly clients: ApnsClient[];
  /**
   * What a connection built by hand (a watched connection factory) presents in the TLS handshake:
   * the provider certificate in certificate mode, nothing in token mode.
   */
  readonly connectionTls: { readonly cert: string; readonly key: string } | undefined;
  /** The fixture's credentials for an `ApnsAgent` (bundle id BUNDLE_ID). */
  credentials(id: string): ApnsCredentials;
  /** A client of the fixture's credentials against the mock, destroyed by `close()`. */
  client(options?: Partial<ApnsClientOptions>): ApnsClient;
  /** Registers `count` fresh device tokens for BUNDLE_ID. */
  devices(count: number): string[];
  close(): Promise<void>;
}

export interface TokenFixture extends Fixture {
  readonly auth: 'token';
  /** The signing key the mock trusts. */
  readonly key: TestSigningKey;
}

export interface CertificateFixture extends Fixture {
  readonly auth: 'certificate';
  /** A production provider certificate for BUNDLE_ID, issued by `pki`. */
  readonly certificate: { readonly certPem: string; readonly keyPem: string };
}

export function startFixture(options: FixtureOptions & { auth: 'token' }): Promise<TokenFixture>;
export function startFixture(options: FixtureOptions & { auth: 'certificate' }): Promise<CertificateFixture>;
export function startFixture(options: FixtureOptions): Promise<TokenFixture | CertificateFixture>;
export async function startFixture({ auth, ...serverOptions }: FixtureOptions): Promise<TokenFixture | CertificateFixture> {
  const pki = await createTestPki();
  // The client CA is set in both modes: the mock decides a connection's mode by whether it presents
  // a certificate, as APNs does, so one server could serve both.
  const tls = { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem };
  const clients: ApnsClient[] = [];
  const common = (server: MockApnsServer, clientAuth: ApnsAuth) => ({
    server,
    pki,
    clients,
    client(options: Partial<ApnsClientOptions> = {}) {
      const client = new ApnsClient({ origin: server.url, ca: pki.caCertPem, auth: clientAuth, ...options });
      clients.push(client);
      return client;
    },
    devices(count: number) {
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
  });

  if (auth === 'certificate') {
    const server = await startMockApnsServer({ ...serverOptions, tls });
    const certificate = await pki.issueClientCertificate({ bundleId: BUNDLE_ID, environments: ['production'] });
    return {
      auth,
      certificate,
      connectionTls: { cert: certificate.certPem, key: certificate.keyPem },
      credentials: (id) => ({ id, kind: 'certificate', certificate }),
      ...common(server, { kind: 'certificate', certificate }),
    };
  }
  const key = generateSigningKey({ teamId: 'TEAM123456', keyId: 'KEY1234567' });
  const server = await startMockApnsServer({
    ...serverOptions,
    tls,
    signingKeys: [{ teamId: key.teamId, keyId: key.keyId, publicKeyPem: key.publicKeyPem }, ...(serverOptions.signingKeys ?? [])],
  });
  const signingKey = { teamId: key.teamId, keyId: key.keyId, privateKeyPem: key.privateKeyPem };
  return {
    auth,
    key,
    connectionTls: undefined,
    credentials: (id) => ({ id, kind: 'token', ...signingKey }),
    ...common(server, { kind: 'token', key: signingKey }),
  };
}

export function alert(token: string, extra: Record<string, unknown> = {}) {
  return { token, bundleId: BUNDLE_ID, payload: { aps: { alert: 'hello' } }, ...extra };
}

/** The results of a `sendMany`, in completion order. */
export async function collect(iterable: AsyncIterable<{ result: SendResult }>): Promise<SendResult[]> {
  const results: SendResult[] = [];
  for await (const { result } of iterable) results.push(result);
  return results;
}
