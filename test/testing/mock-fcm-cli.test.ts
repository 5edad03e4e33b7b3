/**
 * `pushkeeper mock-fcm` as a user runs it: the files it writes (CA, a service account whose
 * token_uri is the mock) are enough for a client, and the control API drives devices, faults and
 * records. Also the fault flags' parser.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningMockFcm, startMockFcmFromCli } from '../../src/cli/commands/mock-fcm.ts';
import { FcmClient } from '../../src/providers/fcm/index.ts';
import { parseFcmFaultFlags } from '../../src/testing/index.ts';
import { fcmToken } from '../providers/fcm/fixtures.ts';

let running: RunningMockFcm | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function control(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${running!.control!.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : JSON.parse(text) };
}

describe('pushkeeper mock-fcm', () => {
  it('serves a client configured only from the files it wrote, driven by the control API', async () => {
    running = await startMockFcmFromCli({
      host: '127.0.0.1',
      port: 0,
      controlPort: 0,
      projectId: 'cli-project',
      acceptAll: false,
    });
    const token = fcmToken();
    const gone = fcmToken();
    expect((await control('POST', '/devices', { token })).status).toBe(201);
    expect((await control('POST', '/devices', { token: gone, state: 'nonsense' })).status).toBe(400);
    expect((await control('DELETE', `/devices/${encodeURIComponent(gone)}`)).status).toBe(204);
    const client = new FcmClient({
      auth: { serviceAccount: await readFile(running.serviceAccountPath, 'utf8') },
      origin: running.fcm.url,
      ca: await readFile(running.caPath, 'utf8'),
    });
    try {
      expect((await client.send({ token, message: { title: 'CLI' } })).kind).toBe('accepted');
      expect(await client.send({ token: gone, message: { title: 'CLI' } })).toMatchObject({
        reason: 'UNREGISTERED',
      });
      expect((await control('PUT', '/faults', { flags: ['fail-next=503:UNAVAILABLE:1'] })).status).toBe(204);
      expect((await control('PUT', '/faults', { flags: ['fail-next=418:X:1'] })).status).toBe(400);
      const messages = await control('GET', '/messages');
      expect(messages.json).toEqual([
        expect.objectContaining({
          token,
          message: expect.objectContaining({ notification: { title: 'CLI' } }),
        }),
      ]);
      const stats = (await control('GET', '/stats')).json as {
        tokensIssued: number;
        byErrorCode: Record<string, number>;
      };
      expect(stats.tokensIssued).toBe(1);
      expect(stats.byErrorCode['UNREGISTERED']).toBe(1);
    } finally {
      client.destroy();
    }
  });
});

describe('parseFcmFaultFlags', () => {
  it('reads every flag', () => {
    const parsed = parseFcmFaultFlags(
      [
        'status=429:QUOTA_EXCEEDED:30:5000',
        'fail-next=500:INTERNAL:3',
        'error-rate=503:UNAVAILABLE:0.1',
        'delay=5-10',
        'goaway-every=100',
        'destroy-rate=0.01',
        'seed=7',
      ],
      1000,
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        statusWindow: { status: 429, errorCode: 'QUOTA_EXCEEDED', retryAfterSeconds: 30, untilMs: 6000 },
        failNext: { status: 500, errorCode: 'INTERNAL', count: 3 },
        errorRate: { status: 503, errorCode: 'UNAVAILABLE', rate: 0.1 },
        delayMs: { min: 5, max: 10 },
        goAwayAfterStreams: 100,
        destroyRate: 0.01,
        faultSeed: 7,
      },
    });
  });

  it.each([
    'status=404:X:10',
    'fail-next=503:UNAVAILABLE',
    'error-rate=503:UNAVAILABLE:2',
    'delay=9-1',
    'goaway-every=0',
    'nonsense=1',
  ])('refuses %s with PK_ERR_VALIDATION', (flag) => {
    const parsed = parseFcmFaultFlags([flag], 0);
    expect(parsed.ok ? undefined : parsed.error.code).toBe('PK_ERR_VALIDATION');
  });
});
