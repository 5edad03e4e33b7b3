/**
 * One OAuth 2.0 access token per service account, shared by every connection and send of the
 * clients that hold this source. Minting costs an RSA signature and a round trip to a separate,
 * rate-limited service, so it happens once an hour, not per send:
 * - cached, and refreshed five minutes before expiry (what firebase-admin and google-auth-library
 *   do), in the background while the current token still serves;
 * - single-flight: however many sends ask at once, one token request is in flight;
 * - `invalidate(generation)` after a 401 drops that token only (a later one is kept), so a burst
 *   of 401s from one revoked token causes one refresh;
 * - a failed background refresh keeps the still-valid token and tries again after a pause.
 * Expiry is computed from the moment the request was sent (`expires_in` counts from issue).
 */
import https from 'node:https';
import { PushkeeperError } from '../../../errors.ts';
import { type Clock, systemClock } from '../clock.ts';
import { FCM_SCOPE, type ServiceAccount, signAssertion } from './service-account.ts';

export interface AccessToken {
  readonly value: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  /** Counts tokens minted by this source; `invalidate` names the one a 401 was about. */
  readonly generation: number;
}

export interface AccessTokenSourceOptions {
  readonly account: ServiceAccount;
  /** The token endpoint; default the key file's `token_uri` (Google's). A mock or proxy here. */
  readonly tokenUri?: string;
  /** The JWT `aud`; default the token endpoint (Google wants its own token URI there). */
  readonly audience?: string;
  /** Extra trusted CA certificates for the token endpoint. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
  readonly scope?: string;
  /** Refresh this long before expiry. Default 5 minutes. */
  readonly refreshBeforeMs?: number;
  /** Default 10 s. */
  readonly requestTimeoutMs?: number;
  readonly clock?: Clock;
}

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const RETRY_AFTER_FAILURE_MS = 10_000;
const MAX_BODY = 64 * 1024;

export class AccessTokenSource {
  readonly projectId: string;
  readonly #options: AccessTokenSourceOptions;
  readonly #clock: Clock;
  readonly #tokenUri: string;
  readonly #refreshBeforeMs: number;
  #current: AccessToken | undefined;
  #inflight: Promise<AccessToken> | undefined;
  #generation = 0;
  #notBefore = 0;
  #requests = 0;
  #failures = 0;

  constructor(options: AccessTokenSourceOptions) {
    this.#options = options;
    this.projectId = options.account.projectId;
    this.#clock = options.clock ?? systemClock;
    this.#tokenUri = options.tokenUri ?? options.account.tokenUri;
    this.#refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000;
  }

  /** Token requests made, and how many failed. */
  stats(): { requests: number; failures: number; generation: number } {
    return { requests: this.#requests, failures: this.#failures, generation: this.#generation };
  }

  /** The cached token when it is usable without waiting (the hot path: no promise). */
  peek(): AccessToken | undefined {
    const current = this.#current;
    if (current === undefined) return undefined;
    const now = this.#clock.now();
    if (now >= current.expiresAt - 1000) return undefined;
    if (now >= current.expiresAt - this.#refreshBeforeMs) this.#refreshInBackground(now);
    return current;
  }

  /** A usable token, minting one when there is none (one request however many callers wait). */
  get(): Promise<AccessToken> {
    const ready = this.peek();
    if (ready !== undefined) return Promise.resolve(ready);
    return this.#refresh();
  }

  /** The server refused `generation` (401): the next `get` mints a new one, unless one already did. */
  invalidate(generation: number): void {
    if (this.#current !== undefined && this.#current.generation === generation) this.#current = undefined;
  }

  #refreshInBackground(now: number): void {
    if (this.#inflight !== undefined || now < this.#notBefore) return;
    this.#refresh().catch(() => {
      // The current token still serves; the next peek after the pause tries again.
    });
  }

  #refresh(): Promise<AccessToken> {
    this.#inflight ??= this.#mint().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #mint(): Promise<AccessToken> {
    const sentAt = this.#clock.now();
    const assertion = signAssertion(this.#options.account, {
      audience: this.#options.audience ?? this.#tokenUri,
      scope: this.#options.scope ?? FCM_SCOPE,
      nowMs: sentAt,
    });
    this.#requests += 1;
    try {
      const answer = await this.#post(new URLSearchParams({ grant_type: GRANT_TYPE, assertion }).toString());
      const token: AccessToken = {
        value: answer.accessToken,
        expiresAt: sentAt + answer.expiresInS * 1000,
        generation: ++this.#generation,
      };
      this.#current = token;
      return token;
    } catch (error) {
      this.#failures += 1;
      this.#notBefore = this.#clock.now() + RETRY_AFTER_FAILURE_MS;
      throw error;
    }
  }

  #post(form: string): Promise<{ accessToken: string; expiresInS: number }> {
    const url = new URL(this.#tokenUri);
    const ca = this.#options.ca;
    return new Promise((resolve, reject) => {
      const request = https.request(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(form),
            accept: 'application/json',
          },
          ...(ca === undefined ? {} : { ca: ca as string | Buffer | Array<string | Buffer> }),
          timeout: this.#options.requestTimeoutMs ?? 10_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_BODY) chunks.push(chunk);
          });
          response.on('error', (error) =>
            reject(authError(`reading the answer failed: ${error.message}`, error)),
          );
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let body: Record<string, unknown> = {};
            try {
              const parsed: unknown = JSON.parse(text);
              if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
            } catch {
              // not JSON (an HTML error page): the status says enough
            }
            if (status !== 200) {
              // RFC 6749 §5.2: {"error": "invalid_grant", "error_description": "…"}.
              const code = typeof body['error'] === 'string' ? body['error'] : `HTTP ${status}`;
              const description =
                typeof body['error_description'] === 'string' ? `: ${body['error_description']}` : '';
              reject(
                new PushkeeperError(
                  'PK_ERR_FCM_AUTH_FAILED',
                  `The token endpoint refused the assertion (${code}${description}).`,
                  {
                    status,
                    error: code,
                    retryable: status === 429 || status >= 500,
                  },
                ),
              );
              return;
            }
            const accessToken = body['access_token'];
            const expiresIn = body['expires_in'];
            if (
              typeof accessToken !== 'string' ||
              accessToken === '' ||
              typeof expiresIn !== 'number' ||
              !(expiresIn > 0)
            ) {
              reject(authError('the answer has no access_token/expires_in'));
              return;
            }
            resolve({ accessToken, expiresInS: expiresIn });
          });
        },
      );
      request.on('timeout', () => request.destroy(authError('no answer in time')));
      request.on('error', (error) =>
        reject(error instanceof PushkeeperError ? error : authError(error.message, error)),
      );
      request.end(form);
    });
  }
}

function authError(detail: string, cause?: unknown): PushkeeperError {
  return new PushkeeperError(
    'PK_ERR_FCM_AUTH_FAILED',
    `The OAuth token request failed: ${detail}`,
    { retryable: true },
    cause === undefined ? undefined : { cause },
  );
}
