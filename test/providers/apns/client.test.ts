/** The client's own rules, with connections faked at the pool's factory seam (no sockets). */
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { ApnsClient, serialiseApnsPayload } from '../../../src/providers/apns/index.ts';
import { generateSigningKey } from '../../../src/testing/index.ts';
import { fakeFactory } from './fake-connection.ts';
import { BUNDLE_ID, randomToken } from './fixtures.ts';

const key = generateSigningKey({ teamId: 'TEAM123456', keyId: 'KEY1234567' });
const auth = { kind: 'token' as const, key: { teamId: key.teamId, keyId: key.keyId, privateKeyPem: key.privateKeyPem } };

describe('request building', () => {
  it('derives apns-topic from the bundle id and push type, sets every header, shares the payload bytes', async () => {
    const { factory, seen } = fakeFactory();
    const client = new ApnsClient({ origin: 'https://127.0.0.1:1', auth, connectionFactory: factory });
    const payload = serialiseApnsPayload({ aps: { alert: 'hi' } });
    if (!payload.ok) throw new Error('payload');
    const token = randomToken().toUpperCase();
    const result = await client.send({
      token,
      bundleId: BUNDLE_ID,
      pushType: 'voip',
      priority: 5,
      expiration: 0,
      collapseId: 'chat-1',
      payload: payload.value,
    });
    expect(result.kind).toBe('accepted');
    await client.send({ token, bundleId: BUNDLE_ID, payload: payload.value });
    const [first, second] = seen;
    expect(first!.headers).toMatchObject({
      ':method': 'POST',
      ':path': `/3/device/${token.toLowerCase()}`,
      'apns-topic': `${BUNDLE_ID}.voip`,
      'apns-push-type': 'voip',
      'apns-priority': '5',
      'apns-expiration': '0',
      'apns-collapse-id': 'chat-1',
    });
    expect(first!.headers['apns-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first!.headers['authorization']).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(first!.payload).toBe(payload.value);
    expect(second!.payload).toBe(payload.value);
    expect(second!.headers).toMatchObject({ 'apns-topic': BUNDLE_ID, 'apns-push-type': 'alert' });
    // priority 10 is APNs' default when the header is absent
    expect(second!.headers['apns-priority']).toBeUndefined();
    expect(second!.headers['apns-expiration']).toBeUndefined();
    expect(second!.headers['apns-id']).not.toBe(first!.headers['apns-id']);
    await client.close();
  });

  it('invalid input fails before the wire with the domain code', async () => {
    const { factory, seen } = fakeFactory();
    const client = new ApnsClient({ origin: 'https://127.0.0.1:1', auth, connectionFactory: factory });
    const base = { token: randomToken(), bundleId: BUNDLE_ID, payload: { aps: { alert: 'x' } } };
    const code = async (n: object) => {
      const r = await client.send({ ...base, ...n });
      return r.kind === 'failed' && !r.ambiguous ? r.code : r.kind;
    };
    expect(await code({ token: 'abc' })).toBe('PK_ERR_TOKEN_INVALID');
    expect(await code({ bundleId: 'not a bundle' })).toBe('PK_ERR_TOPIC_INVALID');
    expect(await code({ pushType: 'background', priority: 10, payload: { aps: { 'content-available': 1 } } })).toBe('PK_ERR_PRIORITY_NOT_ALLOWED');
    expect(await code({ apnsId: 'ABC' })).toBe('PK_ERR_APNS_ID_INVALID');
    expect(await code({ collapseId: 'x'.repeat(65) })).toBe('PK_ERR_COLLAPSE_ID_INVALID');
    expect(await code({ payload: Buffer.alloc(4097, 32) })).toBe('PK_ERR_PAYLOAD_TOO_LARGE');
    expect(await code({ payload: { aps: { alert: 'x'.repeat(5000) } } })).toBe('PK_ERR_PAYLOAD_TOO_LARGE');
    expect(await client.send(null as never)).toMatchObject({ kind: 'failed', code: 'PK_ERR_VALIDATION' });
    expect(seen.length).toBe(0);
    await client.close();
  });

  it('the same apns-id is kept across resends', async () => {
    let refused = 0;
    const { factory, seen } = fakeFactory(() => (refused++ < 3 ? { kind: 'not-processed', cause: 'refused-stream' } : undefined));
    const client = new ApnsClient({ origin: 'https://127.0.0.1:1', auth, connectionFactory: factory });
    const result = await client.send({ token: randomToken(), bundleId: BUNDLE_ID, payload: { aps: { alert: 'x' } } });
    expect(result.kind).toBe('accepted');
    expect(seen.length).toBe(4);
    expect(new Set(seen.map((r) => r.headers['apns-id'])).size).toBe(1);
    expect(result.apnsId).toBe(seen[0]!.headers['apns-id']);
    await client.close();
  });
});

describe('sendMany', () => {
  it('stopping early stops reading the input', async () => {
    const { factory } = fakeFactory();
    const client = new ApnsClient({ origin: 'https://127.0.0.1:1', auth, connectionFactory: factory });
    let produced = 0;
    function* audience() {
      for (;;) {
        produced += 1;
        yield { token: randomToken(), bundleId: BUNDLE_ID, payload: { aps: { alert: 'x' } } };
      }
    }
    let seen = 0;
    for await (const _ of client.sendMany(audience(), { concurrency: 10 })) if (++seen === 25) break;
    expect(produced).toBeLessThanOrEqual(25 + 10 + 1);
    await client.close();
  });
});

describe('lifecycle and observability', () => {
  it('close() drains in-flight sends, is idempotent, and later sends fail as closed', async () => {
    const { factory } = fakeFactory();
    const client = new ApnsClient({ origin: 'https://127.0.0.1:1', auth, connectionFactory: factory });
    const inFlight = Array.from({ length: 20 }, () => client.send({ token: randomToken(), bundleId: BUNDLE_ID, payload: { aps: { alert: 'x' } } }));
    const closing = client.close();
    expect(client.close()).toBe(closing);
    await closing;
    for (const result of await Promise.all(inFlight)) expect(result.kind).toBe('accepted');
    expect(await client.send({ token: randomToken(), bundleId: BUNDLE_ID, payload: { aps: { alert: 'x' } } })).toMatchObject({
      kind: 'failed',
      code: 'PK_ERR_APNS_CLIENT_CLOSED',
    });
  });

  it('destroy() ends sends waiting on a back-off', async () => {
    const { factory } = fakeFactory(() => ({ kind: 'response', status: 503, headers: { 'retry-after': '3600' }, body: Buffer.from('{"reason":"Shutdown"}'), connectionId: 1 }));
    const client = new ApnsClient({ origin: 'https://127.0.0.1:1', auth, connectionFactory: factory });
    const pending = client.send({ token: randomToken(), bundleId: BUNDLE_ID, payload: { aps: { alert: 'x' } } });
    await new Promise((r) => setTimeout(r, 20));
    client.destroy();
    expect(await pending).toMatchObject({ kind: 'failed', code: 'PK_ERR_APNS_CLIENT_CLOSED' });
  });

  it('request events carry masked tokens only', async () => {
    const { factory } = fakeFactory();
    const client = new ApnsClient({ origin: 'https://127.0.0.1:1', auth, connectionFactory: factory });
    const events: Record<string, unknown>[] = [];
    const listener = (message: unknown) => events.push(message as Record<string, unknown>);
    diagnosticsChannel.subscribe('pushkeeper:apns:request', listener);
    const token = randomToken();
    try {
      await client.send({ token, bundleId: BUNDLE_ID, payload: { aps: { alert: 'x' } } });
    } finally {
      diagnosticsChannel.unsubscribe('pushkeeper:apns:request', listener);
    }
    expect(events.map((e) => e['event'])).toEqual(['sent', 'accepted']);
    expect(JSON.stringify(events)).not.toContain(token);
    expect(events[0]!['token']).toBe(`${token.slice(0, 4)}…${token.slice(-4)}`);
    await client.close();
  });
});
