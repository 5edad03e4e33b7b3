/**
 * The FcmClient's options, requests and results, and the small pure helpers it uses; client.ts
 * holds the sending itself.
 */
import type {
  FcmBatchSummary,
  FcmOutcomeDisposition,
  FcmOverrides,
  FcmSendResult,
  PortableMessage,
  RenderedFcmMessage,
} from '../../domain/index.ts';
import { renderFcmMessage } from '../../domain/index.ts';
import type { AccessTokenSource } from './auth/access-token.ts';
import type { ServiceAccount } from './auth/service-account.ts';
import type { Clock } from './clock.ts';
import type { FcmConnectionFactory, FcmPoolStats } from './pool.ts';

export const FCM_ORIGIN = 'https://fcm.googleapis.com';

export type FcmAuth =
  /** A token source shared by every client of the same service account (one token for all). */
  | { readonly tokens: AccessTokenSource }
  /** The key file's JSON (text or parsed) or a parsed account: this client mints its own tokens. */
  | { readonly serviceAccount: string | Readonly<Record<string, unknown>> | ServiceAccount };

export interface FcmRetryOptions {
  /** Attempts FCM answered or that were lost in transit, per message. Default 6. */
  readonly maxAttempts?: number;
  /** Resends of requests FCM did not process, per message. Default 50. */
  readonly maxResends?: number;
  /** First back-off delay; doubles per attempt. Default 1000 ms. */
  readonly baseDelayMs?: number;
  /** Longest back-off, and the cap on a server's `Retry-After`. Default 60 s. */
  readonly maxDelayMs?: number;
  /** Retries earned per first attempt. Default 0.1. */
  readonly budgetRatio?: number;
  /** Retries per second allowed regardless of traffic. Default 10. */
  readonly budgetFloorPerSecond?: number;
}

export interface FcmClientOptions {
  readonly auth: FcmAuth;
  /** Default: the service account's project. */
  readonly projectId?: string;
  /** Default `https://fcm.googleapis.com`; a mock or a proxy here. */
  readonly origin?: string;
  /** The OAuth token endpoint; default the key file's `token_uri`. Ignored with a shared `tokens`. */
  readonly tokenUri?: string;
  /** Extra trusted CA certificates (PEM) for FCM and the token endpoint (a mock or proxy). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Connections at most. Default 4. */
  readonly connections?: number;
  /** Our cap on streams per connection (FCM allows about 100). Default 100. */
  readonly maxStreamsPerConnection?: number;
  /** Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Close a connection without streams after this long; 0 disables. Default 5 min. */
  readonly idleTimeoutMs?: number;
  readonly retry?: FcmRetryOptions;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Test seam: build connections yourself. */
  readonly connectionFactory?: FcmConnectionFactory;
}

export interface FcmSendRequest {
  /** The registration token. */
  readonly token: string;
  /** A portable message, or one rendered once with `prepareFcmMessage` for many devices. */
  readonly message: PortableMessage | RenderedFcmMessage;
  /** FCM-only settings (ignored when `message` is already rendered). */
  readonly overrides?: FcmOverrides;
  /** FCM validates, target state included, and delivers nothing. */
  readonly validateOnly?: boolean;
}

export interface FcmClientStats {
  readonly accepted: number;
  readonly rejected: number;
  readonly failed: number;
  readonly requests: number;
  readonly resends: number;
  readonly retries: number;
  readonly timeouts: number;
  readonly inFlight: number;
  readonly tokenRequests: number;
  readonly pool: FcmPoolStats;
  readonly budget: { readonly granted: number; readonly waited: number; readonly queued: number };
}

export interface FcmBatchResult extends FcmBatchSummary {
  /** In input order. */
  readonly results: readonly FcmSendResult[];
  readonly dispositions: readonly FcmOutcomeDisposition[];
}

/** Renders once for many devices; the client accepts the result as `message`. */
export function prepareFcmMessage(message: PortableMessage, overrides?: FcmOverrides) {
  return renderFcmMessage(message, overrides);
}

export function isRendered(message: PortableMessage | RenderedFcmMessage): message is RenderedFcmMessage {
  return typeof (message as { membersJson?: unknown }).membersJson === 'string';
}

/** `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

export const NAME = /"name"\s*:\s*"([^"]*)"/;
