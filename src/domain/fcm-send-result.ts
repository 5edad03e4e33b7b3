/**
 * What one FCM message to one device came to, and what a batch came to. A rejection is a value (FCM
 * answered, and fcm-error.ts gave it a disposition); a failure is a transport problem that survived
 * the client's retries.
 */
import type { ErrorCode } from '../errors.ts';
import type { Disposition, RejectionScope } from './apns-reason.ts';

export interface FcmAccepted {
  readonly kind: 'accepted';
  readonly token: string;
  /** `projects/{project}/messages/{id}` as FCM named it. */
  readonly name: string;
}

export interface FcmRejected {
  readonly kind: 'rejected';
  readonly token: string;
  readonly status: number;
  /** The FcmError code (`UNREGISTERED`, …) or, without one, the front end's status name. */
  readonly reason: string;
  readonly disposition: Disposition;
  readonly scope: RejectionScope;
  /** SENDER_ID_MISMATCH: dropped per device, but most of a batch means a wrong project. */
  readonly misconfigurationCandidate: boolean;
  /** FCM's message text, for people (never parsed). */
  readonly message?: string;
}

export interface FcmFailed {
  readonly kind: 'failed';
  readonly token: string;
  readonly code: ErrorCode;
  readonly message: string;
  /** True when FCM may have delivered it (a timeout or a drop after the request was written). */
  readonly ambiguous: boolean;
}

export type FcmSendResult = FcmAccepted | FcmRejected | FcmFailed;

/** The provider-neutral outcome of one device: what the registry and the pipeline act on. */
export type FcmOutcomeDisposition =
  | 'accepted'
  | 'invalidate'
  | 'retry'
  | 'reauth'
  | 'permanent'
  | 'misconfigured'
  | 'failed';

export interface FcmBatchSummary {
  readonly total: number;
  readonly counts: Readonly<Record<FcmOutcomeDisposition, number>>;
  /**
   * More than half of the batch (and at least `minimum`) came back SENDER_ID_MISMATCH: the sending
   * project is wrong, not the devices. Those outcomes are then `misconfigured`, never `invalidate`.
   */
  readonly misconfigured: boolean;
}

/** The disposition of one result, before the batch-level misconfiguration rule. */
export function fcmOutcomeDisposition(result: FcmSendResult): FcmOutcomeDisposition {
  if (result.kind === 'accepted') return 'accepted';
  if (result.kind === 'failed') return 'failed';
  switch (result.disposition) {
    case 'invalidate-token':
      return 'invalidate';
    case 'retry':
      return 'retry';
    case 'reauth':
      return 'reauth';
    default:
      return 'permanent';
  }
}

/**
 * Per-device dispositions of a batch, with SENDER_ID_MISMATCH for most of it turned into
 * `misconfigured` so a guard never mass-deletes the registry over a wrong service account.
 */
export function summarizeFcmBatch(
  results: readonly FcmSendResult[],
  options: { readonly minimum?: number } = {},
): FcmBatchSummary & { readonly dispositions: readonly FcmOutcomeDisposition[] } {
  let candidates = 0;
  for (const result of results)
    if (result.kind === 'rejected' && result.misconfigurationCandidate) candidates += 1;
  const misconfigured = candidates >= (options.minimum ?? 3) && candidates * 2 > results.length;
  const counts: Record<FcmOutcomeDisposition, number> = {
    accepted: 0,
    invalidate: 0,
    retry: 0,
    reauth: 0,
    permanent: 0,
    misconfigured: 0,
    failed: 0,
  };
  const dispositions = results.map((result) => {
    const disposition =
      misconfigured && result.kind === 'rejected' && result.misconfigurationCandidate
        ? 'misconfigured'
        : fcmOutcomeDisposition(result);
    counts[disposition] += 1;
    return disposition;
  });
  return { total: results.length, counts, misconfigured, dispositions };
}
