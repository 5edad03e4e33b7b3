/**
 * The pipeline's ApnsGateway over the APNs agent: maps an app's stored credentials and endpoint
 * overrides to agent credentials, and sends a batch with bounded in-flight through `sendMany`.
 */
import type { ApnsAgent, ApnsCredentials as AgentCredentials, ApnsEndpoint } from '../providers/apns/index.ts';
import type { Environment, SendResult } from '../domain/index.ts';
import type { ApnsCredentials, AppEndpoints } from '../store/contract.ts';
import type { ApnsGateway, DeliveryRoute, OutgoingNotification } from './gateway.ts';

export interface AgentGatewayOptions {
  readonly agent: ApnsAgent;
  /** Notifications in flight per batch. */
  readonly concurrency?: number;
}

function endpointOverrides(endpoints: AppEndpoints | null): Partial<Record<Environment, ApnsEndpoint>> {
  if (endpoints === null) return {};
  const ca = endpoints.caPem === null ? {} : { ca: endpoints.caPem };
  const out: Partial<Record<Environment, ApnsEndpoint>> = {};
  if (endpoints.production !== null) out.production = { origin: endpoints.production, ...ca };
  if (endpoints.sandbox !== null) out.sandbox = { origin: endpoints.sandbox, ...ca };
  return out;
}

export function toAgentCredentials(appId: string, credentials: ApnsCredentials, endpoints: AppEndpoints | null): AgentCredentials {
  const base = { id: appId, endpoints: endpointOverrides(endpoints) };
  if (credentials.auth === 'token') {
    return { ...base, kind: 'token', teamId: credentials.teamId, keyId: credentials.keyId, privateKeyPem: credentials.privateKey };
  }
  const passphrase = credentials.passphrase === undefined ? {} : { passphrase: credentials.passphrase };
  const certificate =
    'p12Base64' in credentials
      ? { pkcs12: Buffer.from(credentials.p12Base64, 'base64'), ...passphrase }
      : { certPem: credentials.certPem, keyPem: credentials.keyPem, ...passphrase };
  return { ...base, kind: 'certificate', certificate };
}

export function createAgentGateway(options: AgentGatewayOptions): ApnsGateway {
  const { agent } = options;
  return {
    async sendAll(route: DeliveryRoute, notifications: readonly OutgoingNotification[]): Promise<SendResult[]> {
      const credentials = toAgentCredentials(route.appId, route.credentials, route.endpoints);
      let client: ReturnType<ApnsAgent['clientFor']>;
      try {
        client = agent.clientFor(credentials, route.environment);
      } catch {
        // Bad stored credentials: let the agent classify it per notification.
        return Promise.all(
          notifications.map((n) => agent.send(credentials, route.environment, { ...n, bundleId: route.bundleId })),
        );
      }
      const results: SendResult[] = new Array(notifications.length);
      const indexed = notifications.map((n, index) => ({ ...n, bundleId: route.bundleId, index }));
      for await (const { notification, result } of client.sendMany(indexed, { concurrency: options.concurrency ?? 500 })) {
        results[notification.index] = result;
      }
      return results;
    },
    forget: (appId) => agent.evict(appId),
    close: (closeOptions) => agent.close(closeOptions),
  };
}
