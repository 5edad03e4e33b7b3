/** Queue names and job payloads of the push pipeline. */
import type { DeviceToken, Environment } from '../domain/index.ts';

export const QUEUE = {
  fanout: 'pk.fanout',
  send: 'pk.send',
  webhook: 'pk.webhook',
  maintenance: 'pk.maintenance',
} as const;

export interface FanoutJob {
  readonly appId: string;
  readonly notificationId: string;
}

export interface SendJob {
  readonly appId: string;
  readonly notificationId: string;
  readonly devices: readonly { readonly token: DeviceToken; readonly environment: Environment }[];
  /** The audience cursor after this page: where the fan-out resumes if it was enqueued but not checkpointed. */
  readonly endCursor: string;
}

export interface WebhookJob {
  readonly appId: string;
  readonly event: Readonly<Record<string, unknown>>;
}
