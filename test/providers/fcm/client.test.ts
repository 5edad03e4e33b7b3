/**
 * FcmClient against the mock FCM server over TLS: delivery, per-device dispositions, the OAuth
 * token shared by a whole run, a quota window waited out, 401 refresh, and batch-level
 * misconfiguration.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FcmSendResult } from '../../../src/domain/index.ts';
import { type FcmFixture, fcmToken, startFcmFixture } from './fixtures.ts';

const hello = {
  title: 'Hello',
  body: 'From the test',
  data: { orderId: 42, urgent: true },
  collapseKey: 'order-42',
  ttlSeconds: 3600,
  priority: 'high',
} as const;

let fixture: FcmFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('FcmClient against the mock', () => {
  it('delivers a rendered v1 message over HTTP/2 and names it', async () => {
    fixture = await startFcmFixture();
    const [token] = fixture.devices(1);
    const client = fixture.client();
    const result = await client.send({ token: token!, message: hello, overrides: { channelId: 'orders' } });
    expect(result.kind).toBe('accepted');
    expect(result.kind === 'accepted' && result.name.startsWith('projects/mock-project/messages/')).toBe(
      true,
    );
    const [recorded] = fixture.server.accepted;
    expect(recorded?.httpVersion).toBe('h2');
    expect(recorded?.message).toMatchObject({
      token,
      notification: { title: 'Hello', body: 'From the test' },
      data: { orderId: '42', urgent: 'true' },
      android: {
        priority: 'high',
        ttl: '3600s',
        collapse_key: 'order-42',
        notification: { channel_id: 'orders', tag: 'order-42' },
      },
    });
    await client.close();
  });

  it('one token request serves many concurrent sends (single flight)', async () => {
    fixture = await startFcmFixture();
    const tokens = fixture.devices(300);
    const client = fixture.client();
    const results = await Promise.all(tokens.map((token) => client.send({ token, message: hello })));
    expect(results.every((r) => r.kind === 'accepted')).toBe(true);
    expect(fixture.server.stats.tokenRequests).toBe(1);
    expect(fixture.server.stats.tokensIssued).toBe(1);
    expect(client.stats().tokenRequests).toBe(1);
    await client.close();
  });

  it('gives every device its disposition: UNREGISTERED and a non-token invalidate, SENDER_ID_MISMATCH is a candidate', async () => {
    fixture = await startFcmFixture();
    const [live] = fixture.devices(1);
    const gone = fcmToken();
    const foreign = fcmToken();
    const unknown = fcmToken();
    fixture.server.unregisterDevice(gone);
    fixture.server.registerDevice(foreign, 'mismatched');
    const client = fixture.client();
    const batch = await client.sendBatch(hello, [live!, gone, foreign, unknown]);
    const byToken = new Map(batch.results.map((r) => [r.token, r]));
    expect(byToken.get(live!)?.kind).toBe('accepted');
    expect(byToken.get(gone)).toMatchObject({
      kind: 'rejected',
      status: 404,
      reason: 'UNREGISTERED',
      disposition: 'invalidate-token',
    });
    expect(byToken.get(foreign)).toMatchObject({
      kind: 'rejected',
      status: 403,
      reason: 'SENDER_ID_MISMATCH',
      disposition: 'invalidate-token',
      misconfigurationCandidate: true,
    });
    expect(byToken.get(unknown)).toMatchObject({
      kind: 'rejected',
      status: 400,
      reason: 'INVALID_ARGUMENT',
      disposition: 'invalidate-token',
    });
    expect(batch.misconfigured).toBe(false);
    expect(batch.dispositions).toEqual(['accepted', 'invalidate', 'invalidate', 'invalidate']);
  });

  it('SENDER_ID_MISMATCH for most of a batch marks it misconfigured: nothing to invalidate', async () => {
    fixture = await startFcmFixture();
    const tokens = Array.from({ length: 10 }, () => fcmToken());
    for (const token of tokens) fixture.server.registerDevice(token, 'mismatched');
    const client = fixture.client();
    const batch = await client.sendBatch(hello, tokens);
    expect(batch.misconfigured).toBe(true);
    expect(batch.counts.misconfigured).toBe(10);
    expect(batch.counts.invalidate).toBe(0);
  });

  it('waits out a quota window (429 QUOTA_EXCEEDED + Retry-After) and delivers everything', async () => {
    fixture = await startFcmFixture();
    const tokens = fixture.devices(200);
    fixture.server.setFaults({
      statusWindow: {
        status: 429,
        errorCode: 'QUOTA_EXCEEDED',
        retryAfterSeconds: 1,
        untilMs: Date.now() + 700,
      },
    });
    const client = fixture.client();
    const results: FcmSendResult[] = [];
    for await (const { result } of client.sendMany(
      tokens.map((token) => ({ token, message: hello })),
      { concurrency: 100 },
    ))
      results.push(result);
    expect(results.filter((r) => r.kind === 'accepted')).toHaveLength(200);
    expect(fixture.server.stats.accepted).toBe(200);
    expect(fixture.server.stats.byErrorCode['QUOTA_EXCEEDED']).toBeGreaterThan(0);
    expect(client.stats().retries).toBeGreaterThan(0);
    expect(fixture.server.stats.tokenRequests).toBe(1);
  });

  it('retries UNAVAILABLE and INTERNAL within the budget', async () => {
    fixture = await startFcmFixture();
    const tokens = fixture.devices(20);
    fixture.server.setFaults({ failNext: { status: 503, errorCode: 'UNAVAILABLE', count: 5 } });
    const client = fixture.client({ retry: { baseDelayMs: 20 } });
    const first = await Promise.all(
      tokens.slice(0, 10).map((token) => client.send({ token, message: hello })),
    );
    fixture.server.setFaults({ failNext: { status: 500, errorCode: 'INTERNAL', count: 5 } });
    const second = await Promise.all(tokens.slice(10).map((token) => client.send({ token, message: hello })));
    expect([...first, ...second].every((r) => r.kind === 'accepted')).toBe(true);
    expect(fixture.server.stats.byErrorCode).toMatchObject({ UNAVAILABLE: 5, INTERNAL: 5 });
  });

  it('a revoked access token (401) is replaced once and the send goes through', async () => {
    fixture = await startFcmFixture();
    const tokens = fixture.devices(50);
    const client = fixture.client();
    expect((await client.send({ token: tokens[0]!, message: hello })).kind).toBe('accepted');
    fixture.server.revokeAccessTokens();
    const results = await Promise.all(tokens.slice(1).map((token) => client.send({ token, message: hello })));
    expect(results.every((r) => r.kind === 'accepted')).toBe(true);
    expect(fixture.server.stats.tokensIssued).toBe(2);
  });

  it('THIRD_PARTY_AUTH_ERROR is reauth; a service account of another project gets 403 reauth, never invalidate', async () => {
    fixture = await startFcmFixture();
    const apple = fcmToken();
    fixture.server.registerDevice(apple, 'third-party-auth-error');
    const client = fixture.client();
    expect(await client.send({ token: apple, message: hello })).toMatchObject({
      kind: 'rejected',
      reason: 'THIRD_PARTY_AUTH_ERROR',
      disposition: 'reauth',
    });
    const other = fixture.server.createServiceAccount({ projectId: 'other-project' });
    const wrong = fixture.client({ auth: { serviceAccount: other.json } });
    const [live] = fixture.devices(1);
    expect(await wrong.send({ token: live!, message: hello })).toMatchObject({
      kind: 'rejected',
      status: 403,
      disposition: 'reauth',
    });
  });

  it('refuses bad input locally with stable codes', async () => {
    fixture = await startFcmFixture();
    const client = fixture.client();
    expect(await client.send({ token: 'a'.repeat(64), message: hello })).toMatchObject({
      kind: 'failed',
      code: 'PK_ERR_FCM_TOKEN_INVALID',
    });
    const [token] = fixture.devices(1);
    expect(await client.send({ token: token!, message: { data: { from: 'x' } } })).toMatchObject({
      kind: 'failed',
      code: 'PK_ERR_FCM_MESSAGE_INVALID',
    });
    expect(await client.send({ token: token!, message: { data: { big: 'x'.repeat(5000) } } })).toMatchObject({
      kind: 'failed',
      code: 'PK_ERR_PAYLOAD_TOO_LARGE',
    });
    expect(fixture.server.stats.requests).toBe(0);
  });

  it('a wrong token endpoint fails sends with PK_ERR_FCM_AUTH_FAILED, nothing reaches FCM', async () => {
    fixture = await startFcmFixture();
    const [token] = fixture.devices(1);
    const stranger = { ...fixture.account.json, client_email: 'nobody@mock-project.iam.gserviceaccount.com' };
    const client = fixture.client({ auth: { serviceAccount: stranger } });
    expect(await client.send({ token: token!, message: hello })).toMatchObject({
      kind: 'failed',
      code: 'PK_ERR_FCM_AUTH_FAILED',
    });
    expect(fixture.server.stats.requests).toBe(0);
  });

  it('close() waits for sends in flight; sends after close fail with PK_ERR_FCM_CLIENT_CLOSED', async () => {
    fixture = await startFcmFixture({ faults: { delayMs: { min: 50, max: 50 } } });
    const tokens = fixture.devices(5);
    const client = fixture.client();
    const sends = tokens.map((token) => client.send({ token, message: hello }));
    await client.close();
    expect((await Promise.all(sends)).every((r) => r.kind === 'accepted')).toBe(true);
    expect(await client.send({ token: tokens[0]!, message: hello })).toMatchObject({
      kind: 'failed',
      code: 'PK_ERR_FCM_CLIENT_CLOSED',
    });
    await client.close();
  });

  it('resends streams cut by GOAWAY on a new connection', async () => {
    fixture = await startFcmFixture({ faults: { goAwayAfterStreams: 25 } });
    const tokens = fixture.devices(200);
    const client = fixture.client();
    const results = await Promise.all(tokens.map((token) => client.send({ token, message: hello })));
    expect(results.filter((r) => r.kind === 'accepted')).toHaveLength(200);
    expect(fixture.server.stats.goAwaysSent).toBeGreaterThan(0);
    expect(fixture.server.stats.accepted).toBe(200);
  });
});
