/**
 * `ApnsAgent`: one `ApnsClient` per (credentials id, environment), created on first use and keyed
 * by a fingerprint of everything it was built from (key or certificate, origin, CA): when any of
 * them changes, the next send builds a new client and the old one drains and closes. Every process
 * computes the fingerprint from what it read from the store, so a change applies on the next send
 * in every process of a cluster without any message between them. Clients unused for
 * `idleClientMs` are closed. APNs binds a
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
  /** Close a client unused this long (its connections too). Default 10 min; 0 keeps them. */
  readonly idleClientMs?: number;
  readonly clock?: Clock;
}

function fingerprint(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

type Material = string | Buffer | ReadonlyArray<string | Buffer> | undefined;

function feed(hash: ReturnType<typeof createHash>, value: Material): void {
  if (value === undefined) hash.update('\u0000-');
  else if (typeof value === 'string' || Buffer.isBuffer(value)) hash.update(`\u0000${value.length}:`).update(value);
  else for (const item of value) feed(hash, item);
}

/** What a client is built from, hashed: the credentials' secret material, the origin and the CA. */
export function clientFingerprint(credentials: ApnsCredentials, environment: Environment, endpoint: ApnsEndpoint): string {
  const hash = createHash('sha256');
  feed(hash, environment);
  feed(hash, endpoint.origin);
  feed(hash, endpoint.ca);
  if (credentials.kind === 'token') {
    feed(hash, ['token', credentials.teamId, credentials.keyId, credentials.privateKeyPem]);
  } else {
    const c = credentials.certificate as Record<string, unknown>;
    for (const name of ['certPem', 'keyPem', 'pkcs12', 'passphrase', 'pfx', 'cert', 'key']) {
      const value = c[name];
      feed(hash, typeof value === 'string' || Buffer.isBuffer(value) ? value : value === undefined ? undefined : JSON.stringify(value));
    }
  }
  return hash.digest('hex');
}

interface ClientEntry {
  readonly credentialsId: string;
  readonly fingerprint: string;
  readonly tokenKey: string | null;
  readonly client: ApnsClient;
  lastUsedAt: number;
}

export class ApnsAgent {
  readonly #options: ApnsAgentOptions;
  readonly #clock: Clock;
  readonly #clients = new Map<string, ClientEntry>();
  readonly #tokenSources = new Map<string, ProviderTokenSource>();
  /** Old clients still draining after their settings changed or they idled out. */
  readonly #retiring = new Map<ApnsClient, Promise<void>>();
  readonly #idleMs: number;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: ApnsAgentOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#idleMs = options.idleClientMs ?? 600_000;
  }

  endpointFor(credentials: ApnsCredentials, environment: Environment): ApnsEndpoint {
    return credentials.endpoints?.[environment] ?? this.#options.endpoints?.[environment] ?? { origin: APNS_HOSTS[environment] };
  }

  /**
   * The client for these credentials and environment, created on first use, and created anew when
   * what it is built from changed (the old one drains its in-flight sends, then closes).
   */
  clientFor(credentials: ApnsCredentials, environment: Environment): ApnsClient {
    if (this.#closed) throw new PushkeeperError('PK_ERR_APNS_CLIENT_CLOSED');
    const endpoint = this.endpointFor(credentials, environment);
    const key = `${credentials.id}\u0000${environment}`;
    const print = clientFingerprint(credentials, environment, endpoint);
    const existing = this.#clients.get(key);
    const now = this.#clock.now();
    if (existing !== undefined) {
      if (existing.fingerprint === print) {
        existing.lastUsedAt = now;
        return existing.client;
      }
      this.#clients.delete(key);
      this.#retire(existing);
    }
    const tokenKey = credentials.kind === 'token' ? this.#tokenKey(credentials) : null;
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
    this.#clients.set(key, { credentialsId: credentials.id, fingerprint: print, tokenKey, client, lastUsedAt: now });
    this.#startSweeper();
    return client;
  }

  /** Closes clients unused for `idleClientMs`. Runs on a timer; callable directly (tests). */
  evictIdle(): number {
    if (this.#idleMs <= 0) return 0;
    const cutoff = this.#clock.now() - this.#idleMs;
    let evicted = 0;
    for (const [key, entry] of this.#clients) {
      if (entry.lastUsedAt > cutoff || entry.client.stats().inFlight > 0) continue;
      this.#clients.delete(key);
      this.#retire(entry);
      evicted += 1;
    }
    return evicted;
  }

  #retire(entry: ClientEntry): void {
    const closing = entry.client.close().catch(() => {});
    this.#retiring.set(entry.client, closing);
    void closing.then(() => this.#retiring.delete(entry.client));
    // A signing key no client uses any more is forgotten with its cached provider token.
    if (entry.tokenKey !== null && ![...this.#clients.values()].some((e) => e.tokenKey === entry.tokenKey)) {
      this.#tokenSources.delete(entry.tokenKey);
    }
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined || this.#idleMs <= 0) return;
    this.#sweeper = setInterval(() => this.evictIdle(), Math.min(60_000, Math.max(1_000, this.#idleMs / 2)));
    this.#sweeper.unref();
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

  /** Closes (draining) every client of these credentials, e.g. after the app was deleted. */
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

  /**
   * Drains and closes every client. Idempotent. With `timeoutMs`, clients still draining after it
   * (a stuck connection) are destroyed, so a shutdown ends within its drain timeout.
   */
  async close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    this.#closed = true;
    this.#stopSweeper();
    const clients = [...this.#clients.values()].map(({ client }) => client);
    this.#clients.clear();
    const retiring = [...this.#retiring];
    const drained = Promise.all([...clients.map((client) => client.close()), ...retiring.map(([, closing]) => closing)]).then(
      () => true,
    );
    if (options.timeoutMs === undefined) {
      await drained;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), options.timeoutMs);
    });
    const done = await Promise.race([drained, expired]);
    clearTimeout(timer);
    if (!done) for (const client of [...clients, ...retiring.map(([client]) => client)]) client.destroy();
  }

  destroy(): void {
    this.#closed = true;
    this.#stopSweeper();
    for (const { client } of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }

  #stopSweeper(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #tokenKey(credentials: ApnsCredentials & { kind: 'token' }): string {
    return `${credentials.teamId}:${credentials.keyId}:${fingerprint(credentials.privateKeyPem)}`;
  }

  #tokenSource(credentials: ApnsCredentials & { kind: 'token' }): ProviderTokenSource {
    const key = this.#tokenKey(credentials);
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
