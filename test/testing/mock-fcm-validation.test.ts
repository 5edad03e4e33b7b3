/** What the mock FCM server refuses in a send request, as FCM does (field paths, FcmError or not). */
import { describe, expect, it } from 'vitest';
import { checkSendRequest } from '../../src/testing/mock-fcm-validation.ts';

const token = 'cAbCdEfGhIjKlMnOpQrStU:APA91b' + 'x'.repeat(134);

function refusal(
  body: unknown,
): { status: number; code: string; fields: string[]; fcmError: boolean } | undefined {
  const checked = checkSendRequest(body);
  if (!('httpStatus' in checked)) return undefined;
  const error = checked.body['error'] as {
    details: { '@type': string; fieldViolations?: { field: string }[] }[];
  };
  return {
    status: checked.httpStatus,
    code: checked.errorCode,
    fields: error.details.flatMap((d) => d.fieldViolations?.map((v) => v.field) ?? []),
    fcmError: error.details.some((d) => d['@type'].endsWith('FcmError')),
  };
}

describe('mock FCM request checks', () => {
  it('accepts snake_case and camelCase, null as unset, validate_only', () => {
    const checked = checkSendRequest({
      validateOnly: true,
      message: {
        token,
        android: {
          collapseKey: 'k',
          ttl: '3.5s',
          priority: 'HIGH',
          notification: { channelId: 'c', tag: null },
        },
      },
    });
    expect('httpStatus' in checked).toBe(false);
    if (!('httpStatus' in checked)) expect(checked.validateOnly).toBe(true);
  });

  it.each([
    [{ message: { token, android: { channel_id: 'c' } } }, 'message.android', false],
    [{ message: { token, data: { n: 1 } } }, 'message.data[0].value', false],
    [{ message: { token, android: { ttl: 60 } } }, 'message.android.ttl', false],
    [{ message: { token, android: { priority: 'urgent' } } }, 'message.android.priority', false],
    [{ message: { token, topic: 'news' } }, 'message', true],
    [{ message: {} }, 'message', true],
    [{ message: { token, data: { from: 'x' } } }, 'message.data', true],
    [{ message: { token, data: { k: 'x'.repeat(4096) } } }, 'message', true],
    [{ message: { token, android: { ttl: '2419201s' } } }, 'message.android.ttl', true],
    [{ message: { token }, extra: 1 }, 'request', false],
  ])('refuses %j at %s', (body, field, fcmError) => {
    expect(refusal(body)).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', fields: [field], fcmError });
  });
});
