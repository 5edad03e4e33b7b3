export {
  WebPushClient,
  type WebPushClientOptions,
  type WebPushClientStats,
  type WebPushClock,
} from './client.ts';
export { encryptWebPushPayload, type EncryptionRecipient } from './encrypt.ts';
export { isP256Point } from './p256.ts';
export type * from './types.ts';
export {
  checkVapidSubject,
  generateVapidKeys,
  type VapidCredentials,
  type VapidKeys,
  VapidSigner,
} from './vapid.ts';
