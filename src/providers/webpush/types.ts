/**
 * The Web Push client's inputs and outputs: a message, the subscriptions it goes to, and one
 * outcome per subscription with the disposition the registry acts on.
 */
import type {
  Disposition,
  MessagePriority,
  RejectionScope,
  Urgency,
  WebPushHealthHint,
} from '../../domain/index.ts';
import type { ErrorCode } from '../../errors.ts';

/** What the browser handed over (`PushSubscription.toJSON()`); validated again before each send. */
export interface WebPushTarget {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

export interface WebPushMessage {
  /** The plaintext (UTF-8 when a string; JSON by convention). At most 3993 bytes less `padding`. Omitted: a push without data. */
  readonly payload?: Uint8Array | string;
  /** Required (RFC 8030 §5.2): seconds the push service may keep it for an offline browser; 0 = now or never. */
  readonly ttlSeconds: number;
  /** RFC 8030 §5.3; default from `priority`, else `normal`. */
  readonly urgency?: Urgency;
  readonly priority?: MessagePriority;
  /** A ready Topic header (≤ 32 base64url characters). */
  readonly topic?: string;
  /** Or a collapse key, turned into a topic (domain `topicFromCollapseKey`). */
  readonly collapseKey?: string;
  /** Zero bytes after the padding delimiter, hiding the payload's length from the push service. */
  readonly padding?: number;
}

export interface WebPushDelivery<R = unknown> {
  readonly subscription: WebPushTarget;
  readonly message: WebPushMessage;
  /** The caller's own reference (a device id), handed back with the outcome. */
  readonly ref?: R;
}

export interface WebPushAccepted {
  readonly kind: 'accepted';
  readonly status: number;
  /** The push message resource (RFC 8030 §5), if the service gave one. */
  readonly location: string | undefined;
  readonly attempts: number;
}

export interface WebPushRejected {
  readonly kind: 'rejected';
  readonly status: number;
  readonly reason: string;
  readonly disposition: Disposition;
  readonly scope: RejectionScope;
  readonly health?: WebPushHealthHint;
  /** When a `retry` could not be made in time here: wait this long before sending again. */
  readonly retryAfterMs?: number;
  /**
   * When the rejected request was sent. Push services give no "invalid since" time (unlike APNs'
   * 410 timestamp), so this stands in for it in the re-registration rule.
   */
  readonly sentAt: Date;
  readonly attempts: number;
}

export interface WebPushFailed {
  readonly kind: 'failed';
  readonly code: ErrorCode;
  readonly message: string;
  /** A short machine-readable refinement (`p256dh-not-on-curve`, `plaintext-too-large`). */
  readonly reason?: string;
  /** True when the push service may have accepted it (a timeout or a drop after the request was written). */
  readonly ambiguous: boolean;
  readonly attempts: number;
}

export type WebPushOutcome = WebPushAccepted | WebPushRejected | WebPushFailed;

export interface WebPushResult<R = unknown> {
  readonly delivery: WebPushDelivery<R>;
  readonly outcome: WebPushOutcome;
}
