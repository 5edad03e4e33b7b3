/**
 * `import … from 'pushkeeper'`: the APNs provider client as a library, and the domain rules it
 * applies. The service itself is run with the `pushkeeper` command; the mock servers are in
 * `pushkeeper/testing`.
 */
export * from './providers/apns/index.ts';
export * from './providers/fcm/index.ts';
export {
  generateVapidKeys,
  isP256Point,
  type VapidCredentials,
  type VapidKeys,
  type WebPushAccepted,
  WebPushClient,
  type WebPushClientOptions,
  type WebPushClientStats,
  type WebPushDelivery,
  type WebPushFailed,
  type WebPushMessage,
  type WebPushOutcome,
  type WebPushRejected,
  type WebPushResult,
  type WebPushTarget,
} from './providers/webpush/index.ts';
export {
  APNS_REASONS,
  type ApnsReason,
  type Accepted,
  classifyRejection,
  type DeviceToken,
  type Disposition,
  type Environment,
  type Failed,
  maskDeviceToken,
  parseDeviceToken,
  PUSH_TYPE_RULES,
  parseWebPushSubscription,
  topicFromCollapseKey as webPushTopicFromCollapseKey,
  type WebPushSubscription,
  WEBPUSH_MAX_PLAINTEXT_BYTES,
  type PushType,
  type Rejected,
  type SendResult,
  topicFor,
} from './domain/index.ts';
export {
  classifyFcmRejection,
  FCM_ERROR_RULES,
  FCM_PAYLOAD_LIMIT,
  type FcmAccepted,
  type FcmErrorCode,
  type FcmFailed,
  type FcmMessageBody,
  type FcmOutcomeDisposition,
  type FcmOverrides,
  type FcmRejected,
  type FcmSendResult,
  maskFcmToken,
  parseFcmErrorBody,
  parseFcmToken,
  type PortableMessage,
  type RenderedFcmMessage,
  renderFcmMessage,
  summarizeFcmBatch,
} from './domain/index.ts';
export { ERROR_CATALOGUE, type ErrorCode, isPushkeeperError, PushkeeperError } from './errors.ts';
