/** The FCM provider client's public API (re-exported from the package root). */
export { type AccessToken, AccessTokenSource, type AccessTokenSourceOptions } from './auth/access-token.ts';
export {
  FCM_SCOPE,
  GOOGLE_TOKEN_URI,
  parseServiceAccount,
  type ServiceAccount,
  signAssertion,
} from './auth/service-account.ts';
export {
  FCM_ORIGIN,
  type FcmAuth,
  type FcmBatchResult,
  type FcmClientOptions,
  type FcmClientStats,
  type FcmRetryOptions,
  type FcmSendRequest,
  prepareFcmMessage,
} from './client-types.ts';
export { FcmClient } from './client.ts';
export type { FcmConnectionFactory, FcmPoolStats } from './pool.ts';
