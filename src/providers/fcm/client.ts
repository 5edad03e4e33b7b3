/**
 * `FcmClient`: sends FCM HTTP v1 messages (`POST /v1/projects/{project}/messages:send`, one device
 * per request — the batch endpoint is gone since 2024) for one service account over a pool of our
 * own HTTP/2 connections. A rejection is a value (`FcmSendResult`); fcm-error.ts alone decides what
 * is retried. Retries (Firebase, "FCM error codes" and "Throttling and quotas"):
 * - not processed (REFUSED_STREAM, above a GOAWAY's last-stream-id): resent at once;
 * - 401 without FcmError (token expired or revoked): the token is invalidated, one new token is
 *   minted for all, and the message is resent once;
 * - QUOTA_EXCEEDED / 429: the whole client pauses until `Retry-After` (the quota is the project's,
 *   so every other send would hit it too), then resends; UNAVAILABLE, INTERNAL and other 5xx:
 *   exponential back-off with jitter, at least `Retry-After`, within a retry budget;
 * - connection lost after the request was written: resent (FCM has no idempotency key, so this may
 *   deliver twice; collapse keys and tags make the duplicate replace the first);
 * - a request timeout is cancelled and reported `failed` + `ambiguous`, never resent here.
 */
import {
  classifyFcmRejection,
  type FcmOverrides,
  type FcmSendResult,
  type PortableMessage,
  parseFcmErrorBody,
  parseFcmToken,
  type RenderedFcmMessage,
  renderFcmMessage,
  summarizeFcmBatch,
} from '../../domain/index.ts';
import { type ErrorCode, PushkeeperError } from '../../errors.ts';
import { type AccessToken, AccessTokenSource } from './auth/access-token.ts';
import { parseServiceAccount, type ServiceAccount } from './auth/service-account.ts';
import {
  FCM_ORIGIN,
  type FcmBatchResult,
  type FcmClientOptions,
  type FcmClientStats,
  type FcmRetryOptions,
  type FcmSendRequest,
  field,
  isRendered,
  NAME,
  parseRetryAfterMs,
} from './client-types.ts';
import { type Clock, systemClock } from './clock.ts';
import type { FcmStreamOutcome } from './connection.ts';
import { FcmPool } from './pool.ts';
import { FcmRetryBudget } from './retry-budget.ts';
import { BoundedSends } from './send-many.ts';

export class FcmClient {
  readonly origin: string;
  readonly projectId: string;
  readonly #tokens: AccessTokenSource;
  readonly #ownsTokens: boolean;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #pool: FcmPool;
  readonly #budget: FcmRetryBudget;
  readonly #retry: Required<FcmRetryOptions>;
  readonly #path: string;
  readonly #rendered = new WeakMap<object, ReturnType<typeof renderFcmMessage>>();
  readonly #counters = {
    accepted: 0,
    rejected: 0,
    failed: 0,
    requests: 0,
    resends: 0,
    retries: 0,
    timeouts: 0,
  };
  #inFlight = 0;
  /** A project quota window: no request leaves before this time. */
  #pausedUntil = 0;
  #pause: Promise<void> | undefined;
  #closing = false;
  #destroyed = false;
  #closed: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  #abort: () => void = () => {};
  readonly #aborted: Promise<'aborted'>;

  constructor(options: FcmClientOptions) {
    let url: URL;
    try {
      url = new URL(options.origin ?? FCM_ORIGIN);
    } catch (cause) {
      throw new PushkeeperError('PK_ERR_ENDPOINT_INVALID', `Not a URL: ${options.origin}`, {}, { cause });
    }
    if (url.protocol !== 'https:')
      throw new PushkeeperError('PK_ERR_ENDPOINT_INVALID', 'FCM is reached over https only.');
    this.origin = url.origin;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    if ('tokens' in options.auth) {
      this.#tokens = options.auth.tokens;
      this.#ownsTokens = false;
    } else {
      const input = options.auth.serviceAccount;
      let account: ServiceAccount;
      if (typeof input === 'object' && 'privateKey' in input && typeof input.privateKey === 'object')
        account = input as ServiceAccount;
      else {
        const parsed = parseServiceAccount(input as string | Record<string, unknown>);
        if (!parsed.ok)
          throw new PushkeeperError(parsed.error.code, parsed.error.message, { reason: parsed.error.reason });
        account = parsed.value;
      }
      this.#tokens = new AccessTokenSource({
        account,
        clock: this.#clock,
        ...(options.tokenUri === undefined ? {} : { tokenUri: options.tokenUri }),
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      });
      this.#ownsTokens = true;
    }
    this.projectId = options.projectId ?? this.#tokens.projectId;
    this.#path = `/v1/projects/${encodeURIComponent(this.projectId)}/messages:send`;
    const retry = options.retry ?? {};
    this.#retry = {
      maxAttempts: retry.maxAttempts ?? 6,
      maxResends: retry.maxResends ?? 50,
      baseDelayMs: retry.baseDelayMs ?? 1000,
      maxDelayMs: retry.maxDelayMs ?? 60_000,
      budgetRatio: retry.budgetRatio ?? 0.1,
      budgetFloorPerSecond: retry.budgetFloorPerSecond ?? 10,
    };
    this.#budget = new FcmRetryBudget({
      clock: this.#clock,
      ratio: this.#retry.budgetRatio,
      floorPerSecond: this.#retry.budgetFloorPerSecond,
      maxTokens: 100,
    });
    this.#aborted = new Promise((resolve) => {
      this.#abort = () => resolve('aborted');
    });
    this.#pool = new FcmPool({
      clock: this.#clock,
      size: options.connections ?? 4,
      factory:
        options.connectionFactory ??
        FcmPool.defaultFactory({
          origin: this.origin,
          ca: options.ca,
          maxStreams: options.maxStreamsPerConnection ?? 100,
          connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
          requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
          idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
        }),
    });
  }

  stats(): FcmClientStats {
    return {
      ...this.#counters,
      inFlight: this.#inFlight,
      tokenRequests: this.#tokens.stats().requests,
      pool: this.#pool.stats(),
      budget: this.#budget.stats(),
    };
  }

  /** Sends one message to one device. Never throws: bad input and transport trouble are `failed`. */
  send(request: FcmSendRequest): Promise<FcmSendResult> {
    const rawToken = typeof request?.token === 'string' ? request.token : '';
    const token = parseFcmToken(request?.token);
    if (!token.ok)
      return Promise.resolve(this.#failed(rawToken, token.error.code, false, token.error.message));
    const rendered = this.#render(request);
    if (!rendered.ok)
      return Promise.resolve(this.#failed(token.value, rendered.error.code, false, rendered.error.message));
    if (this.#closing) return Promise.resolve(this.#failed(token.value, 'PK_ERR_FCM_CLIENT_CLOSED', false));
    const body = Buffer.from(
      `{"message":{"token":${JSON.stringify(token.value)}${rendered.value.membersJson === '' ? '' : ','}${rendered.value.membersJson}}${
        request.validateOnly === true ? ',"validate_only":true' : ''
      }}`,
    );
    this.#inFlight += 1;
    this.#budget.deposit();
    return this.#deliver(token.value, body).then((result) => {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#drained?.();
      this.#counters[result.kind] += 1;
      return result;
    });
  }

  /**
   * Sends every request of a (possibly huge, possibly async) iterable with at most `concurrency` in
   * flight, yielding `{request, result}` in completion order; input is pulled only when a slot is free.
   */
  sendMany<R extends FcmSendRequest>(
    requests: Iterable<R> | AsyncIterable<R>,
    options: { readonly concurrency?: number } = {},
  ): AsyncIterableIterator<{ readonly request: R; readonly result: FcmSendResult }> {
    return new BoundedSends<R, FcmSendResult>(
      requests,
      (request) => this.send(request),
      options.concurrency ?? 500,
    );
  }

  /**
   * One message to a batch of devices: every per-device outcome with its disposition, in input
   * order, and whether the batch as a whole looks misconfigured (SENDER_ID_MISMATCH for most of it).
   */
  async sendBatch(
    message: PortableMessage | RenderedFcmMessage,
    tokens: readonly string[],
    options: { readonly overrides?: FcmOverrides; readonly concurrency?: number } = {},
  ): Promise<FcmBatchResult> {
    const prepared = isRendered(message)
      ? { ok: true as const, value: message }
      : renderFcmMessage(message, options.overrides);
    const results: FcmSendResult[] = new Array(tokens.length);
    if (!prepared.ok) {
      tokens.forEach((token, i) => {
        results[i] = this.#failed(token, prepared.error.code, false, prepared.error.message);
      });
    } else {
      const indexed = tokens.map((token, index) => ({ token, message: prepared.value, index }));
      for await (const { request, result } of this.sendMany(indexed, options))
        results[request.index] = result;
    }
    const summary = summarizeFcmBatch(results);
    return { ...summary, results };
  }

  /** Stops taking sends, waits for those in flight, then closes the connections. Idempotent. */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closing = true;
    this.#closed = (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
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

  /** Whether this client minted its own tokens (vs. a source shared with other clients). */
  get ownsTokenSource(): boolean {
    return this.#ownsTokens;
  }

  #render(request: FcmSendRequest): ReturnType<typeof renderFcmMessage> {
    const message = request.message;
    if (typeof message === 'object' && message !== null && isRendered(message))
      return { ok: true, value: message };
    if (request.overrides !== undefined || typeof message !== 'object' || message === null) {
      return renderFcmMessage(message as PortableMessage, request.overrides);
    }
    // One portable message sent to many devices is rendered once.
    let rendered = this.#rendered.get(message);
    if (rendered === undefined) {
      rendered = renderFcmMessage(message);
      this.#rendered.set(message, rendered);
    }
    return rendered;
  }

  #failed(token: string, code: ErrorCode, ambiguous: boolean, message?: string): FcmSendResult {
    return { kind: 'failed', token, code, ambiguous, message: message ?? new PushkeeperError(code).message };
  }

  async #wait(promise: Promise<unknown>): Promise<boolean> {
    return (await Promise.race([promise.then(() => 'done' as const), this.#aborted])) === 'aborted';
  }

  #backoffMs(attempt: number, retryAfterMs: number | undefined): number {
    const exponential = Math.min(
      this.#retry.maxDelayMs,
      this.#retry.baseDelayMs * 2 ** Math.max(0, attempt - 1),
    );
    const jittered = exponential / 2 + this.#random() * (exponential / 2);
    return Math.max(jittered, Math.min(retryAfterMs ?? 0, this.#retry.maxDelayMs));
  }

  /** A quota window: every send waits until it has passed (one timer for all of them). */
  #pauseFor(ms: number): void {
    const until = this.#clock.now() + ms;
    if (until <= this.#pausedUntil) return;
    this.#pausedUntil = until;
    this.#pause = this.#clock.sleep(ms);
  }

  async #accessToken(): Promise<AccessToken | PushkeeperError> {
    const ready = this.#tokens.peek();
    if (ready !== undefined) return ready;
    try {
      return await this.#tokens.get();
    } catch (error) {
      return error instanceof PushkeeperError
        ? error
        : new PushkeeperError('PK_ERR_FCM_AUTH_FAILED', String(error));
    }
  }

  #submit(token: AccessToken, body: Buffer): Promise<FcmStreamOutcome> {
    this.#counters.requests += 1;
    return new Promise((resolve) =>
      this.#pool.submit({ path: this.#path, authorization: `Bearer ${token.value}`, body }, resolve),
    );
  }

  async #deliver(deviceToken: string, body: Buffer): Promise<FcmSendResult> {
    let attempts = 0;
    let resends = 0;
    let refreshed = false;
    for (;;) {
      if (this.#pause !== undefined && this.#clock.now() < this.#pausedUntil) {
        if (await this.#wait(this.#pause))
          return this.#failed(deviceToken, 'PK_ERR_FCM_CLIENT_CLOSED', false);
      }
      const access = await this.#accessToken();
      if (access instanceof PushkeeperError) {
        attempts += 1;
        if (access.details?.['retryable'] !== true || attempts >= this.#retry.maxAttempts) {
          return this.#failed(deviceToken, access.code, false, access.message);
        }
        if (await this.#wait(this.#clock.sleep(this.#backoffMs(attempts, undefined))))
          return this.#failed(deviceToken, 'PK_ERR_FCM_CLIENT_CLOSED', false);
        continue;
      }
      const outcome = await this.#submit(access, body);

      if (outcome.kind === 'response') {
        const { status } = outcome;
        if (status === 200) {
          const name = NAME.exec(outcome.body.toString('utf8'))?.[1] ?? '';
          return { kind: 'accepted', token: deviceToken, name };
        }
        const parsed = parseFcmErrorBody(outcome.body.toString('utf8'));
        const rule = classifyFcmRejection(status, parsed);
        const rejected: FcmSendResult = {
          kind: 'rejected',
          token: deviceToken,
          status,
          reason: rule.reason,
          disposition: rule.disposition,
          scope: rule.scope,
          misconfigurationCandidate: rule.misconfigurationCandidate,
          ...(parsed.message === undefined ? {} : { message: parsed.message }),
        };
        if (rule.refreshCredentials && !refreshed) {
          // Only the first 401 per token generation drops it: one refresh for the whole burst.
          this.#tokens.invalidate(access.generation);
          refreshed = true;
          this.#counters.resends += 1;
          continue;
        }
        if (rule.disposition === 'retry' && rule.backoff) {
          attempts += 1;
          if (attempts >= this.#retry.maxAttempts) return rejected;
          const retryAfter = parseRetryAfterMs(field(outcome.fields, 'retry-after'), this.#clock.now());
          if (retryAfter !== undefined && (status === 429 || rule.reason === 'QUOTA_EXCEEDED')) {
            // The server named the end of the window: everyone waits for it, no budget needed.
            this.#pauseFor(Math.min(retryAfter, this.#retry.maxDelayMs) + this.#random() * 250);
          } else {
            if (await this.#wait(this.#budget.acquire()))
              return this.#failed(deviceToken, 'PK_ERR_FCM_CLIENT_CLOSED', false);
            if (await this.#wait(this.#clock.sleep(this.#backoffMs(attempts, retryAfter))))
              return this.#failed(deviceToken, 'PK_ERR_FCM_CLIENT_CLOSED', false);
          }
          this.#counters.retries += 1;
          continue;
        }
        return rejected;
      }

      if (outcome.kind === 'not-processed') {
        if (outcome.cause === 'pool-closed')
          return this.#failed(deviceToken, 'PK_ERR_FCM_CLIENT_CLOSED', false);
        if (outcome.cause === 'connect-failed') {
          attempts += 1;
          if (attempts >= this.#retry.maxAttempts) {
            return this.#failed(
              deviceToken,
              outcome.error?.code ?? 'PK_ERR_FCM_CONNECTION',
              false,
              outcome.error?.message,
            );
          }
          // The pool's reconnect back-off paces these (one connection attempt serves every waiter).
          this.#counters.retries += 1;
          continue;
        }
        resends += 1;
        if (resends > this.#retry.maxResends) {
          return this.#failed(
            deviceToken,
            'PK_ERR_FCM_RETRIES_EXHAUSTED',
            false,
            `Not processed ${resends} times (${outcome.cause}).`,
          );
        }
        this.#counters.resends += 1;
        continue;
      }

      if (outcome.cause === 'timeout') {
        this.#counters.timeouts += 1;
        return this.#failed(deviceToken, 'PK_ERR_FCM_TIMEOUT', true);
      }
      attempts += 1;
      if (this.#destroyed) {
        return this.#failed(deviceToken, 'PK_ERR_FCM_CLIENT_CLOSED', true);
      }
      if (attempts >= this.#retry.maxAttempts) {
        return this.#failed(
          deviceToken,
          outcome.error?.code ?? 'PK_ERR_FCM_CONNECTION',
          true,
          outcome.error?.message,
        );
      }
      this.#counters.retries += 1;
    }
  }
}
