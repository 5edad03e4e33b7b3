/**
 * The FCM error table: one disposition per FcmError code, INVALID_ARGUMENT split by what it is
 * about, the front end's statuses without FcmError, and a classifier that never throws on any body.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyFcmRejection,
  FCM_ERROR_CODES,
  FCM_ERROR_RULES,
  type FcmErrorBody,
  parseFcmErrorBody,
} from '../../src/domain/index.ts';

function body(
  status: number,
  statusName: string,
  errorCode?: string,
  fields: string[] = [],
  message = 'x',
): string {
  const details: unknown[] = [];
  if (errorCode !== undefined)
    details.push({ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode });
  if (fields.length > 0) {
    details.push({
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: fields.map((field) => ({ field })),
    });
  }
  return JSON.stringify({ error: { code: status, message, status: statusName, details } });
}

const classify = (status: number, text: string) => classifyFcmRejection(status, parseFcmErrorBody(text));

describe('FCM error dispositions', () => {
  it.each([
    [404, 'NOT_FOUND', 'UNREGISTERED', 'invalidate-token'],
    [403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH', 'invalidate-token'],
    [429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', 'retry'],
    [503, 'UNAVAILABLE', 'UNAVAILABLE', 'retry'],
    [500, 'INTERNAL', 'INTERNAL', 'retry'],
    [401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR', 'reauth'],
    [400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'permanent'],
  ] as const)('%i %s / %s → %s', (status, name, code, disposition) => {
    const rule = classify(status, body(status, name, code));
    expect(rule.disposition).toBe(disposition);
    expect(rule.reason).toBe(code);
    expect(rule.known).toBe(true);
  });

  it('only SENDER_ID_MISMATCH is a misconfiguration candidate', () => {
    for (const code of FCM_ERROR_CODES) {
      expect(FCM_ERROR_RULES[code].misconfigurationCandidate).toBe(code === 'SENDER_ID_MISMATCH');
    }
  });

  it('INVALID_ARGUMENT deletes the token only when it is about the token', () => {
    expect(
      classify(400, body(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', ['message.token'])).disposition,
    ).toBe('invalidate-token');
    expect(
      classify(
        400,
        body(
          400,
          'INVALID_ARGUMENT',
          'INVALID_ARGUMENT',
          [],
          'The registration token is not a valid FCM registration token',
        ),
      ).disposition,
    ).toBe('invalidate-token');
    expect(
      classify(400, body(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', ['message.data[0].value'])).disposition,
    ).toBe('permanent');
    expect(
      classify(
        400,
        body(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', ['message.token', 'message.android.ttl']),
      ).disposition,
    ).toBe('permanent');
    expect(
      classify(
        400,
        body(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', [], 'Request contains an invalid argument.'),
      ).disposition,
    ).toBe('permanent');
  });

  it('without FcmError the HTTP status decides, and a 404 is never a dead token', () => {
    expect(classify(401, body(401, 'UNAUTHENTICATED'))).toMatchObject({
      disposition: 'reauth',
      refreshCredentials: true,
      known: false,
    });
    expect(classify(403, body(403, 'PERMISSION_DENIED'))).toMatchObject({
      disposition: 'reauth',
      refreshCredentials: false,
    });
    expect(classify(404, '<html>Not Found</html>')).toMatchObject({
      disposition: 'permanent',
      reason: 'HTTP_404',
    });
    expect(classify(502, '<html>Bad Gateway</html>')).toMatchObject({ disposition: 'retry', backoff: true });
    expect(classify(429, '')).toMatchObject({ disposition: 'retry', backoff: true });
  });

  it('never throws and always yields a disposition, whatever the body', () => {
    const detail = fc.oneof(
      fc.record({
        '@type': fc.constant('type.googleapis.com/google.firebase.fcm.v1.FcmError'),
        errorCode: fc.oneof(fc.constantFrom(...FCM_ERROR_CODES), fc.string()),
      }),
      fc.record({
        '@type': fc.constant('type.googleapis.com/google.rpc.BadRequest'),
        fieldViolations: fc.array(fc.record({ field: fc.oneof(fc.constant('message.token'), fc.string()) })),
      }),
      fc.anything(),
    );
    const errorBody = fc.oneof(
      fc.string(),
      fc
        .record({
          error: fc.record({
            code: fc.integer(),
            message: fc.string(),
            status: fc.string(),
            details: fc.array(detail),
          }),
        })
        .map((b) => JSON.stringify(b)),
      fc.anything().map((v) => JSON.stringify(v) ?? ''),
    );
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), errorBody, (status, text) => {
        const parsed: FcmErrorBody = parseFcmErrorBody(text);
        const rule = classifyFcmRejection(status, parsed);
        expect(['invalidate-token', 'retry', 'reauth', 'permanent']).toContain(rule.disposition);
        // A token is only ever deleted on an FcmError that says so or a token-attributed 400.
        if (rule.disposition === 'invalidate-token') {
          expect(
            parsed.errorCode !== undefined || (status === 400 && parsed.status === 'INVALID_ARGUMENT'),
          ).toBe(true);
        }
        if (rule.misconfigurationCandidate) expect(rule.reason).toBe('SENDER_ID_MISMATCH');
      }),
      { numRuns: 500 },
    );
  });
});
