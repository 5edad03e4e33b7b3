/** The APNs provider client's public API (re-exported from the package root). */
export { type CertificateInput, type ClientCertificate, checkCertificatePush, loadClientCertificate } from './auth/certificate.ts';
export {
  MAX_TOKEN_AGE_MS,
  MAX_TOKEN_REFRESH_MS,
  MIN_TOKEN_REFRESH_MS,
  type ProviderToken,
  ProviderTokenSource,
  type ProviderTokenSourceOptions,
  type SigningKey,
} from './auth/provider-token.ts';
export {
  type ApnsAuth,
  ApnsClient,
  type ApnsClientOptions,
  type ApnsClientStats,
  type RetryOptions,
  type SendManyOptions,
  type SendManyResult,
} from './client.ts';
export { type Clock, systemClock } from './clock.ts';
export type { ConnectionListener, GoawayInfo, PoolConnection, StreamOutcome, WireRequest } from './connection.ts';
export { type ApnsNotification, prepareNotification, serialiseApnsPayload } from './notification.ts';
export type { ConnectionFactory, PoolStats } from './pool.ts';
export { type AgentClientOptions, ApnsAgent, type ApnsAgentOptions, type ApnsCredentials, type ApnsEndpoint } from './agent.ts';
