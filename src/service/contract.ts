/**
 * What the edges (http/, cli/) may ask of the service layer. The HTTP API is built against these
 * interfaces; cli/serve wires the real implementations.
 */
import type { Problem, Result } from '../domain/index.ts';
import type { CancelResult, Notification, Store } from '../store/contract.ts';
import type { AppService, KeyService } from './apps.ts';

export interface PushRequest {
  readonly audience: unknown;
  readonly payload: unknown;
  readonly options?: unknown;
}

export interface AcceptedPush {
  readonly notification: Notification;
  /** false when an earlier request with the same Idempotency-Key answered this notification. */
  readonly created: boolean;
}

export interface PushService {
  /**
   * Validates (audience, payload bytes against the push type's limit, options), persists the
   * notification and its first job in one step, and answers it. Bad input is a Result failure
   * and writes nothing; an unavailable store or queue throws PushkeeperError (503 codes).
   */
  accept(appId: string, request: PushRequest, options?: { readonly idempotencyKey?: string }): Promise<Result<AcceptedPush>>;
  cancel(appId: string, notificationId: string): Promise<CancelResult>;
}

export interface FeedbackPollSummary {
  readonly appId: string;
  readonly at: Date;
  readonly tuplesRead: number;
  readonly removed: number;
  readonly keptReregistered: number;
  readonly notFound: number;
  readonly malformed: number;
  readonly truncatedBytes: number;
}

export interface FeedbackService {
  /** Polls the app's legacy feedback service now and applies what it reports. */
  pollNow(appId: string): Promise<Result<FeedbackPollSummary, Problem>>;
}

export interface Readiness {
  /** true when the store and the queue answer. */
  check(): Promise<{ readonly store: boolean; readonly queue: boolean }>;
}

export interface ServiceDeps {
  readonly store: Store;
  /** Apps and their settings, health and verification (apps.ts). */
  readonly apps: AppService;
  readonly keys: KeyService;
  readonly push: PushService;
  readonly feedback: FeedbackService;
  readonly readiness: Readiness;
}
