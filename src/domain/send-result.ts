/**
 * What one notification to one device came to. A rejection is a value (APNs answered); a failure
 * is a transport problem that survived the client's retries (APNs may not have answered at all).
 */
import type { ErrorCode } from '../errors.ts';
import type { Disposition, RejectionScope } from './apns-reason.ts';

export interface Accepted {
  readonly kind: 'accepted';
  readonly apnsId: string;
  /** Sandbox only: the id the Push Notifications Console's delivery log knows. */
  readonly uniqueId?: string;
}

export interface Rejected {
  readonly kind: 'rejected';
  readonly apnsId: string;
  readonly status: number;
  readonly reason: string;
  readonly disposition: Disposition;
  readonly scope: RejectionScope;
  /** From the 410 body's `timestamp` (milliseconds since the epoch): when the token went bad. */
  readonly invalidSince?: Date;
}

export interface Failed {
  readonly kind: 'failed';
  readonly apnsId: string;
  readonly code: ErrorCode;
  readonly message: string;
  /** True when APNs may have delivered it (a timeout or a drop after the request was written). */
  readonly ambiguous: boolean;
}

export type SendResult = Accepted | Rejected | Failed;
