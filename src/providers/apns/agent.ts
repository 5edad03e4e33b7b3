/**
 * `ApnsAgent`: one `ApnsClient` per (credentials, APNs origin), created on first use. APNs binds a
 * connection to the team of its first push and rejects another team's tokens on it (Apple,
 * "Establishing a token-based connection to APNs"), so credentials never share connections;
 * a broken credential only hurts its own clients. Provider tokens are shared per signing key across
 * environments (one key serves production and sandbox), so a key's token changes at most once per
 * refresh period however many clients use it.
 */
import { createHash } from 'node:crypto';
import { APNS_HOSTS, type Environment, type SendResult } from '../../domain/index.ts';
import { PushkeeperError } from '../../errors.ts';
import type { CertificateInput, ClientCertificate } from './auth/certificate.ts';
import { ProviderTokenSource } from './auth/provider-token.ts';
import { ApnsClient, type ApnsClientOptions, type ApnsClientStats } from './client.ts';
import { type Clock, systemClock } from './clock.ts';
import type { ApnsNotification } from './notification.ts';

export interface ApnsEndpoint {
  /** `https://host:port` */
  readonly origin: string;
  /** Extra trusted CA certificates (PEM) for this endpoint: a mock or a proxy. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
}

interface CredentialsBase {
  /** Stable identity of these credentials, e.g. the app id. */
  readonly id: string;
  /** Per-app endpoint overrides (a mock server, a proxy); the agent's defaults otherwise. */
  readonly endpoints?: Partial<Record<Environment, ApnsEndpoint>>;
}

export type ApnsCredentials =
  | (CredentialsBase & { readonly kind: 'token'; readonly teamId: string; readonly keyId: string; readonly privateKeyPem: string })
  | (CredentialsBase & { readonly kind: 'certificate'; readonly certificate: CertificateInput | ClientCertificate });

export type AgentClientOptions = Omit<ApnsClientOptions, 'origin' | 'environment' | 'auth' | 'ca' | 'clock'>;

export interface ApnsAgentOptions {
  /** Default endpoints; Apple's production and sandbox hosts otherwise. */
  readonly endpoints?: Partial<Record<Environment, ApnsEndpoint>>;
  /** Options for every client the agent creates. */
  readonly client?: AgentClientOptions;
  readonly clock?: Clock;
}

function fingerprint(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export class ApnsAgent {
  readonly #options: ApnsAgentOptions;
  readonly #clock: Clock;
  readonly #clients = new Map<string, { readonly credentialsId: string; readonly client: ApnsClient }>();
  readonly #tokenSources = new Map<string, ProviderTokenSource>();
  #closed = false;

  constructor(options: ApnsAgentOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  endpointFor(credentials: ApnsCredentials, environment: Environment): ApnsEndpoint {
    return credentials.endpoints?.[environment] ?? this.#options.endpoints?.[environment] ?? { origin: APNS_HOSTS[environment] };
  }

  /** The client for these credentials and environment, created on first use. */
  clientFor(credentials: ApnsCredentials, environment: Environment): ApnsClient {
    if (this.#closed) throw new PushkeeperError('PK_ERR_APNS_CLIENT_CLOSED');
    const endpoint = this.endpointFor(credentials, environment);
    const key = `${credentials.id}\u0000${environment}\u0000${endpoint.origin}`;
    const existing = this.#clients.get(key);
    if (existing !== undefined) return existing.client;
    const client = new ApnsClient({
      ...this.#options.client,
      origin: endpoint.origin,
      environment,
      ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }),
      clock: this.#clock,
      auth:
        credentials.kind === 'token'
          ? { kind: 'token', tokens: this.#tokenSource(credentials) }
          : { kind: 'certificate', certificate: credentials.certificate },
    });
    this.#clients.set(key, { credentialsId: credentials.id, client });
    return client;
  }

  /** Sends with the client for these credentials and environment. Never throws. */
  send(credentials: ApnsCredentials, environment: Environment, notification: ApnsNotification): Promise<SendResult> {
    let client: ApnsClient;
    try {
      client = this.clientFor(credentials, environment);
    } catch (error) {
      const code = error instanceof PushkeeperError ? error.code : 'PK_ERR_CREDENTIALS_INVALID';
      const message = error instanceof Error ? error.message : String(error);
      return Promise.resolve({ kind: 'failed', apnsId: notification.apnsId ?? '', code, message, ambiguous: false });
    }
    return client.send(notification);
  }

  /** Closes (draining) every client of these credentials, e.g. after they were replaced. */
  async evict(credentialsId: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, entry] of this.#clients) {
      if (entry.credentialsId !== credentialsId) continue;
      this.#clients.delete(key);
      closing.push(entry.client.close());
    }
    await Promise.all(closing);
  }

  stats(): { readonly clients: number; readonly byClient: ReadonlyArray<{ credentialsId: string; origin: string; stats: ApnsClientStats }> } {
    const byClient = [...this.#clients.values()].map(({ credentialsId, client }) => ({
      credentialsId,
      origin: client.origin,
      stats: client.stats(),
    }));
    return { clients: this.#clients.size, byClient };
  }

  /** Drains and closes every client. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map(({ client }) => client.close()));
  }

  destroy(): void {
    this.#closed = true;
    for (const { client } of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }

  #tokenSource(credentials: ApnsCredentials & { kind: 'token' }): ProviderTokenSource {
    const key = `${credentials.teamId}:${credentials.keyId}:${fingerprint(credentials.privateKeyPem)}`;
    let source = this.#tokenSources.get(key);
    if (source === undefined) {
      source = new ProviderTokenSource({
        key: { teamId: credentials.teamId, keyId: credentials.keyId, privateKeyPem: credentials.privateKeyPem },
        clock: this.#clock,
      });
      this.#tokenSources.set(key, source);
    }
    return source;
  }
}
