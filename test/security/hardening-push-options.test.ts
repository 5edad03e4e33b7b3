/**
 * Push options are typed: a wrong shape, an unknown field or a null answers 400 with a code naming
 * the field, and a collapse id that cannot travel as an HTTP/2 header value (RFC 9113 §8.2.1) is
 * refused rather than dropped on the way to APNs. The OpenAPI document describes the push body
 * from the same domain tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_COLLAPSE_ID_BYTES, PUSH_TYPE_RULES, parseNotificationOptions } from '../../src/domain/index.ts';
import { bearer, type CreatedApp, createApp, createHarness, type Harness } from '../http/harness.ts';

let h: Harness;
let app: CreatedApp;

beforeAll(async () => {
  h = await createHarness();
  app = await createApp(h);
});
afterAll(async () => {
  await h.close();
});

const push = (options: unknown) =>
  h.app.inject({
    method: 'POST',
    url: `/v1/apps/${app.id}/notifications`,
    headers: bearer(app.apiKey),
    payload: { audience: { alias: 'u1' }, payload: { aps: { alert: 'hi' } }, options },
  });

describe('typed push options', () => {
  const refused: ReadonlyArray<readonly [string, unknown, string, Record<string, unknown>]> = [
    ['a string', 'x', 'PK_ERR_OPTIONS_INVALID', { reason: 'not-object', field: 'options' }],
    ['an array', [], 'PK_ERR_OPTIONS_INVALID', { reason: 'not-object', field: 'options' }],
    ['null', null, 'PK_ERR_OPTIONS_INVALID', { reason: 'not-object', field: 'options' }],
    [
      'an unknown field',
      { bogus: 1 },
      'PK_ERR_OPTIONS_INVALID',
      { reason: 'unknown-field', field: 'options.bogus' },
    ],
    ['a null pushType', { pushType: null }, 'PK_ERR_PUSH_TYPE_INVALID', { field: 'options.pushType' }],
    ['a null priority', { priority: null }, 'PK_ERR_PRIORITY_INVALID', { field: 'options.priority' }],
    [
      'a null collapseId',
      { collapseId: null },
      'PK_ERR_COLLAPSE_ID_INVALID',
      { field: 'options.collapseId' },
    ],
    [
      'a string expiration',
      { expiration: '0' },
      'PK_ERR_EXPIRATION_INVALID',
      { field: 'options.expiration' },
    ],
    [
      'a non-boolean recordDeliveries',
      { recordDeliveries: 'yes' },
      'PK_ERR_OPTIONS_INVALID',
      { field: 'options.recordDeliveries' },
    ],
    [
      'a collapse id with CR LF',
      { collapseId: 'a\r\nx-evil: 1' },
      'PK_ERR_COLLAPSE_ID_INVALID',
      { reason: 'not-header-safe' },
    ],
    [
      'a collapse id with LF',
      { collapseId: 'a\nb' },
      'PK_ERR_COLLAPSE_ID_INVALID',
      { reason: 'not-header-safe' },
    ],
    [
      'a collapse id with NUL',
      { collapseId: 'a\u0000b' },
      'PK_ERR_COLLAPSE_ID_INVALID',
      { reason: 'not-header-safe' },
    ],
    [
      'a collapse id with DEL',
      { collapseId: 'a\u007fb' },
      'PK_ERR_COLLAPSE_ID_INVALID',
      { reason: 'not-header-safe' },
    ],
    [
      'a collapse id with a leading space',
      { collapseId: ' a' },
      'PK_ERR_COLLAPSE_ID_INVALID',
      { reason: 'not-header-safe' },
    ],
    [
      'a collapse id with a trailing tab',
      { collapseId: 'a\t' },
      'PK_ERR_COLLAPSE_ID_INVALID',
      { reason: 'not-header-safe' },
    ],
    [
      'a collapse id of 65 bytes',
      { collapseId: 'é'.repeat(32) + 'x' },
      'PK_ERR_COLLAPSE_ID_INVALID',
      { reason: 'too-long' },
    ],
  ];
  for (const [name, options, code, details] of refused) {
    it(`refuses ${name}`, async () => {
      const before = h.push.accepted;
      const response = await push(options);
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json().error).toMatchObject({ code, details });
      expect(h.push.accepted).toBe(before);
    });
  }

  it('accepts every documented field, and a collapse id of exactly 64 bytes', async () => {
    const response = await push({
      pushType: 'alert',
      priority: 5,
      expiration: 0,
      collapseId: 'é'.repeat(MAX_COLLAPSE_ID_BYTES / 2),
      recordDeliveries: true,
    });
    expect(response.statusCode, response.body).toBe(202);
  });

  it('the domain gives the same answers to every caller (the APNs client parses with it too)', () => {
    expect(parseNotificationOptions({ collapseId: 'a\r\nb' })).toMatchObject({
      ok: false,
      error: { code: 'PK_ERR_COLLAPSE_ID_INVALID', reason: 'not-header-safe' },
    });
    expect(parseNotificationOptions({ pushType: null })).toMatchObject({
      ok: false,
      error: { code: 'PK_ERR_PUSH_TYPE_INVALID' },
    });
  });
});

describe('the OpenAPI document describes the push body precisely', () => {
  it('audience, payload and options are schemas, not free text', async () => {
    const document = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const body =
      document.paths['/v1/apps/{app}/notifications'].post.requestBody.content['application/json'].schema;
    const options = body.properties.options;
    expect(options.additionalProperties).toBe(false);
    expect(Object.keys(options.properties).sort()).toEqual(
      ['collapseId', 'expiration', 'priority', 'pushType', 'recordDeliveries'].sort(),
    );
    const pushTypes = JSON.stringify(options.properties.pushType);
    for (const type of Object.keys(PUSH_TYPE_RULES)) expect(pushTypes).toContain(`"${type}"`);
    expect(options.properties.collapseId.maxLength).toBeLessThanOrEqual(MAX_COLLAPSE_ID_BYTES);
    const audienceForms = JSON.stringify(body.properties.audience);
    for (const form of ['alias', 'aliases', 'tokens', 'tags', 'all'])
      expect(audienceForms).toContain(`"${form}"`);
    expect(body.properties.audience.oneOf ?? body.properties.audience.anyOf).toHaveLength(5);
    expect(body.properties.payload.type).toBe('object');
    expect(body.properties.payload.properties.aps.type).toBe('object');
  });
});
