/**
 * `ApnsClient`: sends notifications for one credential to one APNs origin over a pool of HTTP/2
 * connections. A rejection is a value (`SendResult`); the reason table in domain/apns-reason.ts is
 * the only place that decides what is retried. Retries follow Apple's
 * "Handling notification responses from APNs" and what HTTP/2 says was not processed (RFC 9113 §8.7):
 * - not processed by APNs (REFUSED_STREAM, above a GOAWAY's last-stream-id, IdleTimeout, 403
 *   ExpiredProviderToken once a new token exists): resent at once with the same apns-id;
 * - 429 and 5xx: exponential back-off with jitter, at least the server's `retry-after`, within a
 *   retry budget so an outage cannot multiply the request rate;
 * - connection lost after the request was written: resent with the same apns-id (APNs documents no
 *   de-duplication, so this may deliver twice: at-least-once, by design);
 * - a request timeout is cancelled and reported `failed` + `ambiguous`, never resent here;
 * - everything else is final.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http2';
import {
  type ApnsReason,
  classifyRejection,
  type Environment,
  type Failed,
  isApnsReason,
  maskDeviceToken,
  type SendResult,
} from '../../domain/index.ts';
import { type ErrorCode, PushkeeperError } from '../../errors.ts';
import {
  type CertificateInput,
  type ClientCertificate,
  checkCertificatePush,
  loadClientCertificate,
} from './auth/certificate.ts';
import { type ProviderToken, ProviderTokenSource, type SigningKey } from './auth/provider-token.ts';
import { type Clock, systemClock } from './clock.ts';
import { ApnsConnection, type StreamOutcome } from './connection.ts';
import { type ApnsNotification, type PreparedRequest, prepareNotification } from './notification.ts';
import { type ConnectionFactory, ConnectionPool, type PoolStats } from './pool.ts';
import { RetryBudget } from './retry-budget.ts';
import { type SendManyResult, SendManyIterator } from './send-many.ts';

export type { SendManyResult } from './send-many.ts';

export type ApnsAuth =
  /** Token auth with a source shared by every client of the same key (see ApnsAgent). */
  | { readonly kind: 'token'; readonly tokens: ProviderTokenSource }
  /** Token auth with a source of this client's own. */
  | { readonly kind: 'token'; readonly key: SigningKey }
  | { readonly kind: 'certificate'; readonly certificate: ClientCertificate | CertificateInput };

export interface RetryOptions {
  /** Attempts APNs answered or that were lost in transit, per notification. Default 6. */
  readonly maxAttempts?: number;
  /** Resends of requests APNs did not process (refused, GOAWAY), per notification. Default 50. */
  readonly maxResends?: number;
  /** First back-off delay; doubles per attempt. Default 1000 ms. */
  readonly baseDelayMs?: number;
  /** Longest back-off, and the cap on a server's `retry-after`. Default 60 s. */
  readonly maxDelayMs?: number;
  /** Retries earned per first attempt (the retry budget). Default 0.1. */
  readonly budgetRatio?: number;
  /** Retries per second allowed regardless of traffic. Default 10. */
  readonly budgetFloorPerSecond?: number;
  /** Most retries saved up. Default 100. */
  readonly budgetMaxTokens?: number;
  /** Resend (same apns-id) when a connection drops after the request was written. Default true. */
  readonly retryLostConnections?: boolean;
}

export interface ApnsClientOptions {
  /** `https://api.push.apple.com:443`, the sandbox host, a mock or a proxy. */
  readonly origin: string;
  /** Which APNs environment the origin is; certificate checks use it. Default `production`. */
  readonly environment?: Environment;
  readonly auth: ApnsAuth;
  /** Extra trusted CA certificates (PEM), for a mock server or a TLS-intercepting proxy. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Connections to open at most. Default 2 (see docs/benchmarks.md for why). */
  readonly connections?: number;
  /** Our cap on concurrent streams per connection, below what the server allows. Default 1000. */
  readonly maxStreamsPerConnection?: number;
  /** Per request; on expiry the stream is cancelled and the result is ambiguous. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Default 10 s. */
  readonly connectTimeoutMs?: number;
  /**
   * How long a send may wait for a stream while every connection offers none (a server advertising
   * MAX_CONCURRENT_STREAMS 0); it then fails with PK_ERR_APNS_NO_STREAMS, not processed, and the
   * connections are replaced. Default 5 s.
   */
  readonly noStreamsTimeoutMs?: number;
  /** PING interval; 0 disables. Default 60 s (node-apn's choice; APNs documents no requirement). */
  readonly heartbeatMs?: number;
  /** A PING unanswered this long declares the connection dead. Default 10 s. */
  readonly heartbeatTimeoutMs?: number;
  /** Close a connection without streams after this long; 0 disables. Default 10 min. */
  readonly idleTimeoutMs?: number;
  /**
   * After APNs refused the credentials in a GOAWAY (BadCertificateEnvironment, …), sends fail at
   * once with PK_ERR_APNS_CREDENTIALS_UNHEALTHY for this long instead of opening connection after
   * connection to be refused again. Default 60 s.
   */
  readonly credentialsHoldMs?: number;
  readonly retry?: RetryOptions;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Test seam: build connections yourself (the pool's unit tests plug fakes in here). */
  readonly connectionFactory?: ConnectionFactory;
}

export interface ApnsClientStats {
  /** send() calls that got a result. */
  readonly accepted: number;
  readonly rejected: number;
  readonly failed: number;
  /** Requests written, first attempts and resends together. */
  readonly requests: number;
  /** Resends of requests APNs did not process. */
  readonly resends: number;
  /** Retries after back-off (429, 5xx, lost connections). */
  readonly retries: number;
  readonly timeouts: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly pool: PoolStats;
  readonly budget: { readonly granted: number; readonly waited: number; readonly queued: number };
}

export interface SendManyOptions {
  /** Notifications in flight at most; the input is read no faster than results come back. Default 1000. */
  readonly concurrency?: number;
}

const REQUEST_CHANNEL = 'pushkeeper:apns:request';

interface Counters {
  accepted: number;
  rejected: number;
  failed: number;
  requests: number;
  resends: number;
  retries: number;
  timeouts: number;
}

function failed(apnsId: string, code: ErrorCode, ambiguous: boolean, message?: string): Failed {
  return { kind: 'failed', apnsId, code, message: message ?? new PushkeeperError(code).message, ambiguous };
}

/** APNs echoes the apns-id; the development environment adds apns-unique-id (Apple,
 * "Handling notification responses from APNs"). */
function acceptedResult(
  response: { readonly headers: IncomingHttpHeaders; readonly fields?: readonly string[] | undefined },
  apnsId: string,
): SendResult {
  let uniqueId: string | undefined;
  let answeredId: string | undefined;
  const fields = response.fields;
  if (fields !== undefined) {
    // Our own connection hands over the fields as they came: no header object for an acceptance.
    for (let index = 0; index < fields.length; index += 2) {
      const name = fields[index];
      if (name === 'apns-id') answeredId ??= fields[index + 1];
      else if (name === 'apns-unique-id') uniqueId ??= fields[index + 1];
    }
  } else {
    uniqueId = headerString(response.headers, 'apns-unique-id');
    answeredId = headerString(response.headers, 'apns-id');
  }
  answeredId ??= apnsId;
  return uniqueId === undefined
    ? { kind: 'accepted', apnsId: answeredId }
    : { kind: 'accepted', apnsId: answeredId, uniqueId };
}

function headerString(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** `retry-after` as seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or garbage. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The error body `{"reason": …, "timestamp": …}`, read leniently: never throws. */
export function parseErrorBody(body: Buffer): { reason: string | undefined; timestamp: number | undefined } {
  if (body.length === 0) return { reason: undefined, timestamp: undefined };
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return { reason: undefined, timestamp: undefined };
    const { reason, timestamp } = parsed as { reason?: unknown; timestamp?: unknown };
    const ts =
      typeof timestamp === 'number'
        ? timestamp
        : typeof timestamp === 'string'
          ? Number(timestamp)
          : Number.NaN;
    return {
      reason: typeof reason === 'string' && reason.length > 0 ? reason.slice(0, 200) : undefined,
      timestamp: Number.isFinite(ts) ? ts : undefined,
    };
  } catch {
    return { reason: undefined, timestamp: undefined };
  }
}

export class ApnsClient {
  readonly origin: string;
  readonly environment: Environment;
  readonly #options: ApnsClientOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #pool: ConnectionPool;
  readonly #budget: RetryBudget;
  readonly #tokens: ProviderTokenSource | undefined;
  readonly #certificate: ClientCertificate | undefined;
  readonly #channel = diagnosticsChannel.channel(REQUEST_CHANNEL);
  readonly #counters: Counters = {
    accepted: 0,
    rejected: 0,
    failed: 0,
    requests: 0,
    resends: 0,
    retries: 0,
    timeouts: 0,
  };
  readonly #retry: Required<RetryOptions>;
  readonly #requestTimeoutMs: number;
  readonly #knownBundleIds = new Set<string>();
  #inFlight = 0;
  #maxInFlight = 0;
  #credentialsRefused: { readonly reason: string; readonly until: number } | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  #abort: () => void = () => {};
  #destroyed = false;
  readonly #aborted: Promise<'aborted'>;

  constructor(options: ApnsClientOptions) {
    let url: URL;
    try {
      url = new URL(options.origin);
    } catch (cause) {
      throw new PushkeeperError('PK_ERR_ENDPOINT_INVALID', `Not a URL: ${options.origin}`, {}, { cause });
    }
    if (url.protocol !== 'https:')
      throw new PushkeeperError('PK_ERR_ENDPOINT_INVALID', 'APNs is reached over https only.');
    this.origin = url.origin;
    this.environment = options.environment ?? 'production';
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    const retry = options.retry ?? {};
    this.#retry = {
      maxAttempts: retry.maxAttempts ?? 6,
      maxResends: retry.maxResends ?? 50,
      baseDelayMs: retry.baseDelayMs ?? 1000,
      maxDelayMs: retry.maxDelayMs ?? 60_000,
      budgetRatio: retry.budgetRatio ?? 0.1,
      budgetFloorPerSecond: retry.budgetFloorPerSecond ?? 10,
      budgetMaxTokens: retry.budgetMaxTokens ?? 100,
      retryLostConnections: retry.retryLostConnections ?? true,
    };
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#budget = new RetryBudget({
      clock: this.#clock,
      ratio: this.#retry.budgetRatio,
      floorPerSecond: this.#retry.budgetFloorPerSecond,
      maxTokens: this.#retry.budgetMaxTokens,
    });
    const auth = options.auth;
    if (auth.kind === 'token') {
      this.#tokens =
        'tokens' in auth ? auth.tokens : new ProviderTokenSource({ key: auth.key, clock: this.#clock });
    } else if ('tls' in auth.certificate) {
      this.#certificate = auth.certificate;
    } else {
      const loaded = loadClientCertificate(auth.certificate);
      if (!loaded.ok)
        throw new PushkeeperError(loaded.error.code, loaded.error.message, loaded.error.details);
      this.#certificate = loaded.value;
    }
    this.#aborted = new Promise((resolve) => {
      this.#abort = () => resolve('aborted');
    });
    const certificate = this.#certificate;
    const factory: ConnectionFactory =
      options.connectionFactory ??
      ((id, listener) =>
        new ApnsConnection({
          id,
          origin: this.origin,
          listener,
          ca: options.ca,
          clientCertificate: certificate?.tls,
          maxStreams: options.maxStreamsPerConnection ?? 1000,
          connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
          heartbeatMs: options.heartbeatMs ?? 60_000,
          heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 10_000,
          idleTimeoutMs: options.idleTimeoutMs ?? 600_000,
        }));
    this.#pool = new ConnectionPool({
      factory,
      size: Math.max(1, options.connections ?? 2),
      clock: this.#clock,
      random: this.#random,
      ...(options.noStreamsTimeoutMs === undefined ? {} : { noStreamsTimeoutMs: options.noStreamsTimeoutMs }),
    });
  }

  stats(): ApnsClientStats {
    const budget = this.#budget.stats();
    return {
      ...this.#counters,
      inFlight: this.#inFlight,
      maxInFlight: this.#maxInFlight,
      pool: this.#pool.stats(),
      budget: { granted: budget.granted, waited: budget.waited, queued: budget.queued },
    };
  }

  /** Sends one notification. Never throws: invalid input and transport trouble come back as `failed`. */
  send(notification: ApnsNotification): Promise<SendResult> {
    let prepared: ReturnType<typeof prepareNotification>;
    try {
      prepared = prepareNotification(notification, this.#knownBundleIds);
    } catch (error) {
      // Not even an object of the right shape (JavaScript callers): still a result, never a throw.
      this.#counters.failed += 1;
      return Promise.resolve(
        failed('', 'PK_ERR_VALIDATION', false, error instanceof Error ? error.message : String(error)),
      );
    }
    if (!prepared.ok) {
      const apnsId = typeof notification.apnsId === 'string' ? notification.apnsId : '';
      const result = failed(apnsId, prepared.error.code, false, prepared.error.message);
      this.#counters.failed += 1;
      return Promise.resolve(result);
    }
    const request = prepared.value;
    if (this.#knownBundleIds.size < 10_000) this.#knownBundleIds.add(notification.bundleId);
    if (this.#certificate !== undefined) {
      const allowed = checkCertificatePush(this.#certificate, {
        bundleId: notification.bundleId,
        pushType: request.pushType,
        environment: this.environment,
      });
      if (!allowed.ok)
        return Promise.resolve(
          this.#finish(request, failed(request.apnsId, allowed.error.code, false, allowed.error.message)),
        );
    }
    if (this.#closing)
      return Promise.resolve(
        this.#finish(request, failed(request.apnsId, 'PK_ERR_APNS_CLIENT_CLOSED', false)),
      );
    const refused = this.#credentialsRefused;
    if (refused !== undefined && this.#clock.now() < refused.until) {
      return Promise.resolve(this.#finish(request, this.#credentialsUnhealthy(request.apnsId)));
    }
    this.#inFlight += 1;
    if (this.#inFlight > this.#maxInFlight) this.#maxInFlight = this.#inFlight;
    // The first attempt runs on callbacks: an accepted notification (nearly all of them) costs no
    // async-function frame and no promise besides the one returned. Anything else continues in
    // #deliver with the first outcome in hand.
    return new Promise<SendResult>((resolve) => {
      this.#budget.deposit();
      // Read by the callback only after #attempt returned, unless the pool answers at once
      // (closing, nothing written) — and then no token was involved.
      let token: ProviderToken | undefined;
      token = this.#attempt(request, 0, 0, (outcome) => {
        if (outcome.kind === 'response' && outcome.status === 200) {
          this.#settle(request, acceptedResult(outcome, request.apnsId), resolve);
          return;
        }
        this.#deliver(request, { outcome, token }).then(
          (result) => this.#settle(request, result, resolve),
          (error: unknown) =>
            this.#settle(
              request,
              failed(
                request.apnsId,
                'PK_ERR_APNS_CONNECTION',
                true,
                error instanceof Error ? error.message : String(error),
              ),
              resolve,
            ),
        );
      });
    });
  }

  /** Writes one attempt (current provider token, counters, `sent` event); returns the token used. */
  #attempt(
    request: PreparedRequest,
    attempts: number,
    resends: number,
    done: (outcome: StreamOutcome) => void,
  ): ProviderToken | undefined {
    let token: ProviderToken | undefined;
    const headers = request.headers;
    if (this.#tokens !== undefined) {
      token = this.#tokens.current();
      headers['authorization'] = token.authorization;
    }
    this.#counters.requests += 1;
    if (this.#channel.hasSubscribers)
      this.#publish('sent', request, { attempt: attempts + 1, resend: resends });
    this.#pool.submit({ headers, payload: request.payload, timeoutMs: this.#requestTimeoutMs }, done);
    return token;
  }

  #settle(request: PreparedRequest, result: SendResult, resolve: (result: SendResult) => void): void {
    this.#inFlight -= 1;
    if (this.#inFlight === 0) this.#drained?.();
    resolve(this.#finish(request, result));
  }

  /**
   * Sends every notification of a (possibly huge, possibly async) iterable with at most
   * `concurrency` in flight, yielding results in completion order. The input is pulled only when a
   * slot is free, so memory stays bounded whatever the audience size. A failing input iterator
   * rejects the iteration; sends already started still complete.
   */
  sendMany<N extends ApnsNotification>(
    notifications: Iterable<N> | AsyncIterable<N>,
    options: SendManyOptions = {},
  ): AsyncIterableIterator<SendManyResult<N>> {
    return new SendManyIterator<N>(
      notifications,
      (notification) => this.send(notification),
      options.concurrency ?? 1000,
    );
  }

  /** Stops taking sends, waits for those in flight, then closes the connections. Idempotent. */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closing = true;
    this.#closed = (async () => {
      if (this.#inFlight > 0) {
        await new Promise<void>((resolve) => {
          this.#drained = resolve;
        });
      }
      await this.#pool.close();
    })();
    return this.#closed;
  }

  /** Aborts everything: sends in flight resolve `failed` (ambiguous where they were written). */
  destroy(): void {
    this.#closing = true;
    this.#destroyed = true;
    this.#closed ??= Promise.resolve();
    this.#abort();
    this.#pool.destroy();
  }

  #publish(event: string, request: PreparedRequest, extra: Record<string, unknown>): void {
    if (!this.#channel.hasSubscribers) return;
    this.#channel.publish({
      event,
      origin: this.origin,
      apnsId: request.apnsId,
      // Tokens never leave this module unmasked: the channel feeds logs.
      token: maskDeviceToken(request.token),
      topic: request.topic,
      pushType: request.pushType,
      ...extra,
    });
  }

  #finish(request: PreparedRequest, result: SendResult): SendResult {
    if (result.kind === 'accepted') {
      this.#counters.accepted += 1;
      if (this.#channel.hasSubscribers) this.#publish('accepted', request, {});
    } else if (result.kind === 'rejected') {
      this.#counters.rejected += 1;
      this.#publish('rejected', request, {
        status: result.status,
        reason: result.reason,
        disposition: result.disposition,
      });
    } else {
      this.#counters.failed += 1;
      this.#publish('failed', request, { code: result.code, ambiguous: result.ambiguous });
    }
    return result;
  }

  /** Sleeps unless the client is destroyed first; true when it was. */
  async #wait(promise: Promise<unknown>): Promise<boolean> {
    return (await Promise.race([promise.then(() => 'done' as const), this.#aborted])) === 'aborted';
  }

  #credentialsUnhealthy(apnsId: string): Failed {
    const reason = this.#credentialsRefused?.reason ?? 'unknown';
    return failed(
      apnsId,
      'PK_ERR_APNS_CREDENTIALS_UNHEALTHY',
      false,
      `APNs refused these credentials (${reason}); fix them before sending again.`,
    );
  }

  #backoffMs(attempt: number, retryAfterMs: number | undefined): number {
    const exponential = Math.min(
      this.#retry.maxDelayMs,
      this.#retry.baseDelayMs * 2 ** Math.max(0, attempt - 1),
    );
    // "Equal jitter": half fixed, half random, so retries of one burst spread out.
    const jittered = exponential / 2 + this.#random() * (exponential / 2);
    return Math.max(jittered, Math.min(retryAfterMs ?? 0, this.#retry.maxDelayMs));
  }

  /** Every attempt after the first (resends, retries with back-off), from the first one's outcome. */
  async #deliver(
    request: PreparedRequest,
    first: { outcome: StreamOutcome; token: ProviderToken | undefined },
  ): Promise<SendResult> {
    const { apnsId } = request;
    let attempts = 0;
    let resends = 0;
    let expiredTokenResends = 0;
    let pending: typeof first | undefined = first;
    for (;;) {
      let token: ProviderToken | undefined;
      let outcome: StreamOutcome;
      if (pending !== undefined) {
        ({ token, outcome } = pending);
        pending = undefined;
      } else {
        let done: (outcome: StreamOutcome) => void = () => {};
        const answered = new Promise<StreamOutcome>((resolve) => {
          done = resolve;
        });
        token = this.#attempt(request, attempts, resends, done);
        outcome = await answered;
      }

      if (outcome.kind === 'response') {
        const { status, headers: responseHeaders } = outcome;
        if (status === 200) return acceptedResult(outcome, apnsId);
        if (!Number.isInteger(status) || status < 100) {
          return failed(apnsId, 'PK_ERR_APNS_PROTOCOL', true, `APNs answered with status ${String(status)}.`);
        }
        const body = parseErrorBody(outcome.body);
        const rule = classifyRejection(status, body.reason);
        const reason = body.reason ?? 'Unknown';
        const rejected: SendResult = {
          kind: 'rejected',
          apnsId,
          status,
          reason,
          disposition: rule.disposition,
          scope: rule.scope,
          ...(status === 410 && body.timestamp !== undefined
            ? { invalidSince: new Date(body.timestamp) }
            : {}),
        };
        if (reason === 'ExpiredProviderToken' && token !== undefined && this.#tokens !== undefined) {
          // Only the first report per token generation mints a new token (no stampede).
          this.#tokens.reportExpired(token.generation);
          if (expiredTokenResends < 2) {
            expiredTokenResends += 1;
            this.#counters.resends += 1;
            continue;
          }
          return rejected;
        }
        if (rule.notProcessed && rule.disposition === 'retry') {
          if (resends < this.#retry.maxResends) {
            resends += 1;
            this.#counters.resends += 1;
            continue;
          }
          return rejected;
        }
        if (rule.disposition === 'retry' && rule.backoff) {
          attempts += 1;
          if (attempts >= this.#retry.maxAttempts) return rejected;
          const retryAfter = parseRetryAfter(headerString(responseHeaders, 'retry-after'), this.#clock.now());
          if (await this.#wait(this.#budget.acquire()))
            return failed(apnsId, 'PK_ERR_APNS_CLIENT_CLOSED', false);
          if (await this.#wait(this.#clock.sleep(this.#backoffMs(attempts, retryAfter)))) {
            return failed(apnsId, 'PK_ERR_APNS_CLIENT_CLOSED', false);
          }
          this.#counters.retries += 1;
          continue;
        }
        return rejected;
      }

      if (outcome.kind === 'not-processed') {
        if (outcome.cause === 'pool-closed') return failed(apnsId, 'PK_ERR_APNS_CLIENT_CLOSED', false);
        if (outcome.cause === 'credentials-unhealthy') return this.#credentialsUnhealthy(apnsId);
        // Not sent, and resending at once would wait on the same stream-less server: the caller
        // retries later (the service's job retry).
        if (outcome.cause === 'no-streams')
          return failed(apnsId, 'PK_ERR_APNS_NO_STREAMS', false, outcome.error?.message);
        const goawayReason = outcome.goaway?.reason;
        if (goawayReason !== undefined && isApnsReason(goawayReason)) {
          // APNs reports credential problems (BadCertificateEnvironment, …) only in GOAWAY: the
          // reason applies to every stream it did not process, which become rejections.
          const rule = classifyRejection(0, goawayReason);
          if (rule.disposition !== 'retry') {
            if (rule.disposition === 'reauth') {
              // Every connection with these credentials would get the same GOAWAY: stop queueing.
              this.#credentialsRefused = {
                reason: goawayReason,
                until: this.#clock.now() + (this.#options.credentialsHoldMs ?? 60_000),
              };
              this.#pool.failQueued({ kind: 'not-processed', cause: 'credentials-unhealthy' });
            }
            return {
              kind: 'rejected',
              apnsId,
              status: rule.status,
              reason: goawayReason as ApnsReason,
              disposition: rule.disposition,
              scope: rule.scope,
            };
          }
        }
        if (outcome.cause === 'connect-failed') {
          attempts += 1;
          const code = outcome.error?.code ?? 'PK_ERR_APNS_CONNECTION';
          if (attempts >= this.#retry.maxAttempts) return failed(apnsId, code, false, outcome.error?.message);
          // Nothing reached APNs: the pool's reconnect back-off paces these attempts (one connection
          // attempt serves every waiting request), so they do not draw on the retry budget.
          this.#counters.retries += 1;
          continue;
        }
        resends += 1;
        if (resends > this.#retry.maxResends) {
          return failed(
            apnsId,
            'PK_ERR_APNS_RETRIES_EXHAUSTED',
            false,
            `Not processed ${resends} times (${outcome.cause}).`,
          );
        }
        this.#counters.resends += 1;
        continue;
      }

      // ambiguous
      if (outcome.cause === 'timeout') {
        this.#counters.timeouts += 1;
        return failed(apnsId, 'PK_ERR_APNS_TIMEOUT', true);
      }
      attempts += 1;
      if (this.#destroyed) return failed(apnsId, 'PK_ERR_APNS_CLIENT_CLOSED', true);
      if (!this.#retry.retryLostConnections || attempts >= this.#retry.maxAttempts) {
        return failed(apnsId, outcome.error?.code ?? 'PK_ERR_APNS_CONNECTION', true, outcome.error?.message);
      }
      this.#counters.retries += 1;
    }
  }
}
