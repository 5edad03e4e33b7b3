/**
 * What Pushkeeper knows about an app's connection to a push provider, from the answers it got:
 * - `healthy`: nothing wrong seen (or the settings changed since);
 * - `misconfigured`: the provider's answers say the app's settings are wrong (a topic that matches
 *   none of the devices, a topic the credentials may not push to), not that the devices are dead;
 * - `unreachable`: no connection could be made (refused, TLS or CA failure, timeout);
 * - `unauthorized`: the provider refused the credentials (APNs 403 reasons).
 * Every status but `healthy` carries the reason and since when.
 */
export const PROVIDER_HEALTH_STATUSES = ['healthy', 'misconfigured', 'unreachable', 'unauthorized'] as const;

export type ProviderHealthStatus = (typeof PROVIDER_HEALTH_STATUSES)[number];

export type ProviderHealth =
  | { readonly status: 'healthy' }
  | {
      readonly status: Exclude<ProviderHealthStatus, 'healthy'>;
      readonly reason: string;
      readonly since: Date;
    };

export function isProviderHealthStatus(value: unknown): value is ProviderHealthStatus {
  return typeof value === 'string' && (PROVIDER_HEALTH_STATUSES as readonly string[]).includes(value);
}

/**
 * Whether a new send should stop before it starts: the provider refused the credentials, and
 * every send would be refused the same way until they change. Not `misconfigured`: the guard
 * judges every batch again (so nothing is deleted) and one stray token must not block an app;
 * not `unreachable`: the endpoint may be back.
 */
export function healthBlocksSending(health: ProviderHealth): boolean {
  return health.status === 'unauthorized';
}
