import { describe, expect, it } from 'vitest';
import { APNS_REASON_NAMES, APNS_REASONS, classifyRejection } from '../../src/domain/index.ts';

// Apple, "Handling notification responses from APNs", Table 2, with each reason's disposition.
const EXPECTED = {
  BadCollapseId: [400, 'permanent'],
  BadDeviceToken: [400, 'environment-mismatch'],
  BadExpirationDate: [400, 'permanent'],
  BadMessageId: [400, 'permanent'],
  BadPriority: [400, 'permanent'],
  BadTopic: [400, 'permanent'],
  DeviceTokenNotForTopic: [400, 'invalidate-token'],
  DuplicateHeaders: [400, 'permanent'],
  IdleTimeout: [400, 'retry'],
  InvalidPushType: [400, 'permanent'],
  MissingDeviceToken: [400, 'permanent'],
  MissingTopic: [400, 'permanent'],
  PayloadEmpty: [400, 'permanent'],
  TopicDisallowed: [400, 'permanent'],
  BadCertificate: [403, 'reauth'],
  BadCertificateEnvironment: [403, 'reauth'],
  ExpiredProviderToken: [403, 'retry'],
  Forbidden: [403, 'reauth'],
  InvalidProviderToken: [403, 'reauth'],
  MissingProviderToken: [403, 'reauth'],
  UnrelatedKeyIdInToken: [403, 'reauth'],
  BadEnvironmentKeyIdInToken: [403, 'reauth'],
  BadPath: [404, 'permanent'],
  MethodNotAllowed: [405, 'permanent'],
  ExpiredToken: [410, 'invalidate-token'],
  Unregistered: [410, 'invalidate-token'],
  PayloadTooLarge: [413, 'permanent'],
  TooManyProviderTokenUpdates: [429, 'retry'],
  TooManyRequests: [429, 'retry'],
  InternalServerError: [500, 'retry'],
  ServiceUnavailable: [503, 'retry'],
  Shutdown: [503, 'retry'],
} as const;

describe('APNs reason table', () => {
  it('has all 32 documented reasons and no others', () => {
    expect(APNS_REASON_NAMES).toHaveLength(32);
    expect([...APNS_REASON_NAMES].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s → status %i, %s', (reason, [status, disposition]) => {
    const rule = classifyRejection(status, reason);
    expect(rule).toMatchObject({ status, disposition, known: true });
    expect(APNS_REASONS[reason as keyof typeof APNS_REASONS].status).toBe(status);
  });

  it('backs off on 429, 500 and 503 and resends not-processed requests at once', () => {
    for (const reason of ['TooManyRequests', 'TooManyProviderTokenUpdates', 'InternalServerError', 'ServiceUnavailable', 'Shutdown'] as const) {
      expect(APNS_REASONS[reason].backoff).toBe(true);
    }
    expect(APNS_REASONS.ExpiredProviderToken).toMatchObject({ backoff: false, notProcessed: true });
  });

  it('classifies unknown reasons by status without crashing', () => {
    expect(classifyRejection(410, 'SomethingNew')).toMatchObject({ disposition: 'invalidate-token', known: false });
    expect(classifyRejection(500, undefined)).toMatchObject({ disposition: 'retry', backoff: true, known: false });
    expect(classifyRejection(429, 'x')).toMatchObject({ disposition: 'retry', known: false });
    expect(classifyRejection(403, 'x')).toMatchObject({ disposition: 'reauth', known: false });
    expect(classifyRejection(400, 'BrandNew')).toMatchObject({ disposition: 'permanent', known: false });
    expect(classifyRejection(400, 'toString')).toMatchObject({ known: false });
  });
});
