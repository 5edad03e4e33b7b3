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

export interface SendDevice {
  readonly token: DeviceToken;
  readonly environment: Environment;
}

/**
 * One page of a notification's audience. Its devices travel as two strings rather than an object
 * per device: a page is up to 1,000 devices, and the cluster queue stores job data as PostgreSQL
 * jsonb, which parses and stores every key and value of every object (~100 KB of JSON per page);
 * two strings are two values (docs/benchmarks.md).
 */
export interface SendJob {
  readonly appId: string;
  readonly notificationId: string;
  /** The devices' tokens (hex), comma-separated, in audience order. */
  readonly tokens: string;
  /** One letter per device, in the same order: `p` production, `s` sandbox. */
  readonly environments: string;
  /** The audience cursor after this page: where the fan-out resumes if it was enqueued but not checkpointed. */
  readonly endCursor: string;
}

/** A send job as enqueued before its devices were packed: one object per device. */
interface LegacySendJob {
  readonly devices: readonly SendDevice[];
}

const ENVIRONMENT_LETTER: Record<Environment, string> = { production: 'p', sandbox: 's' };

export function packSendDevices(devices: readonly SendDevice[]): Pick<SendJob, 'tokens' | 'environments'> {
  let environments = '';
  for (const device of devices) environments += ENVIRONMENT_LETTER[device.environment];
  return { tokens: devices.map((device) => device.token).join(','), environments };
}

/** The job's devices; a job enqueued by an earlier release (still in the queue after an upgrade) too. */
export function sendJobDevices(job: SendJob | LegacySendJob): SendDevice[] {
  if ('devices' in job) return [...job.devices];
  if (job.tokens === '') return [];
  const tokens = job.tokens.split(',');
  return tokens.map((token, index) => ({
    token: token as DeviceToken,
    environment: job.environments[index] === 's' ? 'sandbox' : 'production',
  }));
}

/** How many devices the job holds, without unpacking them. */
export function sendJobSize(job: SendJob | LegacySendJob): number {
  return 'devices' in job ? job.devices.length : job.environments.length;
}

export interface WebhookJob {
  readonly appId: string;
  readonly event: Readonly<Record<string, unknown>>;
}
