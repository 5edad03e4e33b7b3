/**
 * A push service's answer → one disposition (RFC 8030 §5, §7, §8.4; RFC 8292 §4.2; what FCM,
 * Mozilla autopush, Apple and WNS document or are seen to answer). The single place that decides
 * retry, invalidation and health for Web Push; nothing else inspects statuses or reason texts.
 */
import type { Disposition, RejectionScope } from './apns-reason.ts';

/** What the app's provider health becomes when this answer is about our credentials. */
export type WebPushHealthHint = 'unauthorized' | 'misconfigured';

export interface WebPushVerdict {
  readonly accepted: boolean;
  /** Undefined when accepted. */
  readonly disposition: Disposition | undefined;
  readonly scope: RejectionScope | undefined;
  /** A short machine-readable reason: the service's own (`BadJwtToken`, `errno 109`) or the status's. */
  readonly reason: string;
  readonly health?: WebPushHealthHint;
  /** From Retry-After, in milliseconds from `now`, when the service gave one. */
  readonly retryAfterMs?: number;
}

export interface WebPushAnswer {
  readonly status: number;
  /** The first few KB of the body, as text. */
  readonly body: string;
  /** Response header lookup, names lower-case. */
  readonly header: (name: string) => string | undefined;
  /** The push service's host: WNS signals throttling with 406. */
  readonly host: string;
}

/**
 * Key mismatch: the subscription was made with another VAPID key (FCM "do not correspond", autopush
 * "VAPID public key mismatch", Apple `VapidPkHashMismatch`). It is about this subscription and this
 * key, not the app: the subscription cannot be reached with our key (RFC 8292 §4.2).
 */
const KEY_MISMATCH = /VapidPkHashMismatch|do not correspond|public key mismatch/i;
/**
 * A VAPID problem answered with 400: old FCM `UnauthorizedRegistration`, Apple's JWT and key reasons.
 * The request can never succeed with these credentials, so it is the app's configuration.
 */
const VAPID_400 = /UnauthorizedRegistration|BadJwtToken|BadAuthorizationHeader|BadVapidPublicKey/;

/** The service's own reason: Apple `{"reason"}`, autopush `{"errno"}`, WNS headers, FCM's text. */
export function webPushReasonText(answer: WebPushAnswer): string | undefined {
  const body = answer.body.trim();
  if (body.startsWith('{')) {
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      if (typeof parsed['reason'] === 'string') return parsed['reason'];
      if (typeof parsed['errno'] === 'number') {
        const message = typeof parsed['message'] === 'string' ? `: ${parsed['message']}` : '';
        return `errno ${parsed['errno']}${message}`;
      }
      if (typeof parsed['message'] === 'string') return parsed['message'];
    } catch {
      // Not JSON after all: fall through to the text.
    }
  }
  const wns = answer.header('x-wns-error-description') ?? answer.header('x-wns-status');
  if (wns !== undefined && wns !== '') return wns;
  if (body !== '' && !body.startsWith('<')) return body.slice(0, 200);
  return undefined;
}

/** Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `now`; bounded. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text), 86_400) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), 86_400_000);
}

function rejected(
  disposition: Disposition,
  scope: RejectionScope,
  reason: string,
  extra: { health?: WebPushHealthHint; retryAfterMs?: number | undefined } = {},
): WebPushVerdict {
  return {
    accepted: false,
    disposition,
    scope,
    reason,
    ...(extra.health === undefined ? {} : { health: extra.health }),
    ...(extra.retryAfterMs === undefined ? {} : { retryAfterMs: extra.retryAfterMs }),
  };
}

/**
 * | status | disposition |
 * |---|---|
 * | 2xx | accepted (201 Created; 202 with a receipt) |
 * | 404, 410 | invalidate the subscription (RFC 8030 §7.3; every service answers 410 for unsubscribed) |
 * | 401/403/400 with a key-mismatch text | invalidate: made with another VAPID key |
 * | 401, 403 | reauth, health `unauthorized` (RFC 8292 §4.2: VAPID refused) |
 * | 400 with a VAPID reason | reauth, health `misconfigured` |
 * | 413 | permanent for this payload |
 * | 429; 406 from WNS | retry after Retry-After (RFC 8030 §8.4; WNS throttling) |
 * | 500, 502, 503, 504 | retry with back-off, honouring Retry-After (autopush sends 120) |
 * | 3xx | permanent: redirects are never followed (the endpoint is untrusted) |
 * | any other 4xx | permanent for this message (a sender bug or bad data; never delete on it) |
 */
export function classifyWebPushAnswer(answer: WebPushAnswer, now: number): WebPushVerdict {
  const { status } = answer;
  if (status >= 200 && status < 300)
    return { accepted: true, disposition: undefined, scope: undefined, reason: String(status) };
  const text = webPushReasonText(answer);
  const reason = text ?? String(status);
  const retryAfterMs = parseRetryAfter(answer.header('retry-after'), now);
  if (status === 404 || status === 410) return rejected('invalidate-token', 'device', reason);
  if ((status === 400 || status === 401 || status === 403) && text !== undefined && KEY_MISMATCH.test(text)) {
    return rejected('invalidate-token', 'device', reason);
  }
  if (status === 401 || status === 403)
    return rejected('reauth', 'credentials', reason, { health: 'unauthorized' });
  if (status === 400 && text !== undefined && VAPID_400.test(text)) {
    return rejected('reauth', 'credentials', reason, { health: 'misconfigured' });
  }
  if (status === 413) return rejected('permanent', 'notification', reason);
  if (status === 429 || (status === 406 && answer.host.toLowerCase().endsWith('.notify.windows.com'))) {
    return rejected('retry', 'connection', reason, { retryAfterMs });
  }
  if (status === 500 || status === 502 || status === 503 || status === 504) {
    return rejected('retry', 'connection', reason, { retryAfterMs });
  }
  return rejected('permanent', 'notification', reason);
}
