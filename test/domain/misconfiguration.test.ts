import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  APNS_MISCONFIGURATION_RULES,
  type BatchAnswers,
  DEFAULT_GUARD_THRESHOLDS,
  detectMisconfiguration,
  type MisconfigurationRule,
} from '../../src/domain/index.ts';

function answers(sent: number, reasons: Record<string, number>, both = 0): BatchAnswers {
  return { sent, reasons: new Map(Object.entries(reasons)), rejectedInBothEnvironments: both, topic: 'com.example.wrong' };
}

const detect = (a: BatchAnswers) => detectMisconfiguration(APNS_MISCONFIGURATION_RULES, a, DEFAULT_GUARD_THRESHOLDS);

describe('the mass-invalidation rule', () => {
  it('names a wrong topic when most of a batch answers DeviceTokenNotForTopic, even a batch of one', () => {
    expect(detect(answers(1000, { DeviceTokenNotForTopic: 1000 }))?.code).toBe('PK_ERR_APNS_TOPIC_MISMATCH');
    expect(detect(answers(1, { DeviceTokenNotForTopic: 1 }))?.code).toBe('PK_ERR_APNS_TOPIC_MISMATCH');
    expect(detect(answers(1000, { DeviceTokenNotForTopic: 501 }))?.code).toBe('PK_ERR_APNS_TOPIC_MISMATCH');
    expect(detect(answers(1000, { DeviceTokenNotForTopic: 500 }))).toBeNull();
    expect(detect(answers(1000, { DeviceTokenNotForTopic: 3, Unregistered: 997 }))).toBeNull();
  });

  it('names a refused topic on any TopicDisallowed or BadTopic', () => {
    expect(detect(answers(1000, { TopicDisallowed: 1 }))?.code).toBe('PK_ERR_APNS_TOPIC_REFUSED');
    expect(detect(answers(3, { BadTopic: 3 }))?.code).toBe('PK_ERR_APNS_TOPIC_REFUSED');
  });

  it('names tokens refused in both environments only for most of a batch of at least the minimum', () => {
    expect(detect(answers(100, { BadDeviceToken: 100 }, 100))?.code).toBe('PK_ERR_APNS_TOKENS_REJECTED');
    expect(detect(answers(100, { BadDeviceToken: 100 }, 40))).toBeNull();
    // One garbage token in a push to one device is that token's fault.
    expect(detect(answers(1, { BadDeviceToken: 1 }, 1))).toBeNull();
    expect(detectMisconfiguration(APNS_MISCONFIGURATION_RULES, answers(1, {}, 1), { fraction: 0.5, minDevices: 1 })?.code).toBe(
      'PK_ERR_APNS_TOKENS_REJECTED',
    );
  });

  it('never calls dead devices (410, one environment) a configuration error, whatever their share', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.nat(), fc.nat(), (sent, unregistered, bad) => {
        const a = answers(sent, { Unregistered: unregistered % (sent + 1), BadDeviceToken: bad % (sent + 1) }, 0);
        expect(detect(a)).toBeNull();
      }),
    );
  });

  it('takes other providers\' rules through the same hook', () => {
    const senderMismatch: MisconfigurationRule = (a) =>
      (a.reasons.get('SENDER_ID_MISMATCH') ?? 0) === a.sent ? { code: 'PK_ERR_APNS_TOPIC_REFUSED', reason: 'SENDER_ID_MISMATCH', cause: 'x' } : null;
    expect(detectMisconfiguration([senderMismatch], answers(5, { SENDER_ID_MISMATCH: 5 }), DEFAULT_GUARD_THRESHOLDS)?.reason).toBe(
      'SENDER_ID_MISMATCH',
    );
    expect(detectMisconfiguration([senderMismatch], answers(5, { SENDER_ID_MISMATCH: 4 }), DEFAULT_GUARD_THRESHOLDS)).toBeNull();
  });
});
