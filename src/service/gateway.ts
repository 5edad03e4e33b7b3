/**
 * The seam between the pipeline and APNs: one app's credentials and endpoints, one environment,
 * many notifications. The real implementation (apns-gateway.ts) keeps one APNs client per
 * (credentials, environment host); tests of the pipeline run it against the mock APNs server.
 */
import type { Environment, PushType, SendResult } from '../domain/index.ts';
import type { ApnsCredentials, AppEndpoints } from '../store/contract.ts';

export interface DeliveryRoute {
  readonly appId: string;
  readonly bundleId: string;
  readonly credentials: ApnsCredentials;
  readonly endpoints: AppEndpoints | null;
  readonly environment: Environment;
}

export interface OutgoingNotification {
  readonly token: string;
  readonly apnsId: string;
  readonly pushType: PushType;
  readonly priority: 1 | 5 | 10;
  readonly expiration?: number;
  readonly collapseId?: string;
  /** Serialised once per notification and shared by every device. */
  readonly payload: Buffer;
}

export interface ApnsGateway {
  /** Sends all, at most `concurrency` in flight; results in input order. Never throws for a rejection. */
  sendAll(route: DeliveryRoute, notifications: readonly OutgoingNotification[]): Promise<SendResult[]>;
  /** Drops the clients of one app (its credentials or endpoints changed). */
  forget(appId: string): Promise<void>;
  /** Drains; with `timeoutMs`, connections still busy after it are destroyed (a stuck shutdown ends). */
  close(options?: { readonly timeoutMs?: number }): Promise<void>;
}
