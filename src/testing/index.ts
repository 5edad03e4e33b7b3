/**
 * `pushkeeper/testing`: a faithful stand-in for APNs for your own tests (docs/testing-with-the-mock.md).
 */
export { APNS_CERT_OIDS, type CertificateTopic, type ProviderCertificate } from './client-certificate.ts';
export * from './mock-apns-server.ts';
export type * from './mock-apns-types.ts';
export * from './mock-feedback-server.ts';
export {
  generateSigningKey,
  type ProviderTokenOptions,
  signProviderToken,
  type TestSigningKey,
} from './signing-key.ts';
export {
  type ClientCertificateOptions,
  createTestPki,
  DEFAULT_SERVER_NAMES,
  type TestPki,
  type TestPkiOptions,
} from './test-pki.ts';
export { FAULT_FLAG_HELP, parseFaultFlags } from './fault-flags.ts';
export { type MockControlApi, type MockControlApiOptions, startMockControlApi } from './mock-control-api.ts';
export { MOCK_FCM_SERVER_NAMES, startMockFcmServer } from './mock-fcm-server.ts';
export type * from './mock-fcm-types.ts';
export { FCM_FAULT_FLAG_HELP, parseFcmFaultFlags } from './mock-fcm-faults.ts';
export { type MockFcmControlApi, startMockFcmControlApi } from './mock-fcm-control.ts';
export * from './mock-webpush-server.ts';
export type * from './mock-webpush-types.ts';
export { type DecryptOutcome, decryptWebPushBody, type ReceiverKeys } from './webpush-decrypt.ts';
export { checkVapidAuthorization, type VapidCheck } from './webpush-vapid-check.ts';
export { type MockWebPushControl, startMockWebPushControl } from './mock-webpush-control.ts';
