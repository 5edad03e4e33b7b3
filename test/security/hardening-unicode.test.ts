/**
 * Unicode in the labels an app chooses: aliases and tags are stored NFC-normalised, so one user is
 * one alias however the client composed "é"; control, bidi and other format characters are refused;
 * bodies must be valid UTF-8 (no silent U+FFFD); the NDJSON import refuses what PUT refuses.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAlias, parseTag } from '../../src/domain/index.ts';
import {
  bearer,
  type CreatedApp,
  createApp,
  createHarness,
  type Harness,
  tokenFor,
} from '../http/harness.ts';

const REFUSED_SAMPLES = [
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u200e',
  '\u200f',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u061c',
  '\ufeff',
  '\u00ad',
  '\u2028',
  '\u2029',
  '\ud800',
];

describe('label rules (domain)', () => {
  it('normalisation is idempotent and the stored form is NFC', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (input) => {
        for (const parse of [parseAlias, parseTag]) {
          const first = parse(input);
          if (!first.ok) continue;
          expect(first.value).toBe(first.value.normalize('NFC'));
          const second = parse(first.value);
          expect(second).toEqual(first);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a refused character is refused wherever it stands', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
        fc.constantFrom(...REFUSED_SAMPLES),
        fc.nat(),
        (text, refused, at) => {
          const position = at % (text.length + 1);
          const input = text.slice(0, position) + refused + text.slice(position);
          const alias = parseAlias(input);
          const tag = parseTag(input);
          expect(alias.ok ? null : alias.error).toMatchObject({
            code: 'PK_ERR_ALIAS_INVALID',
            reason: 'control-character',
          });
          expect(tag.ok ? null : tag.error).toMatchObject({
            code: 'PK_ERR_TAG_INVALID',
            reason: 'control-character',
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decomposed and precomposed spellings are one alias; joiners stay', () => {
    expect(parseAlias('Jose\u0301')).toEqual({ ok: true, value: 'José' });
    expect(parseTag('cafe\u0301')).toEqual({ ok: true, value: 'café' });
    // ZWJ sequences (an emoji family) and ZWNJ (Persian spelling) are text, not formatting tricks.
    expect(parseTag('👨\u200d👩\u200d👧').ok).toBe(true);
    expect(parseAlias('می\u200cخواهم').ok).toBe(true);
  });
});

describe('over HTTP', () => {
  let h: Harness;
  let app: CreatedApp;

  beforeAll(async () => {
    h = await createHarness();
    app = await createApp(h);
  });
  afterAll(async () => {
    await h.close();
  });

  const put = (token: string, body: string | Buffer | object) =>
    h.app.inject({
      method: 'PUT',
      url: `/v1/apps/${app.id}/devices/${token}`,
      headers: { ...bearer(app.apiKey), 'content-type': 'application/json' },
      payload: typeof body === 'object' && !Buffer.isBuffer(body) ? JSON.stringify(body) : body,
    });

  it('stores aliases and tags NFC, and finds them by either spelling', async () => {
    const stored = await put(tokenFor(0x1), { alias: 'Jose\u0301', tags: ['cafe\u0301'] });
    expect(stored.statusCode, stored.body).toBe(201);
    expect(stored.json()).toMatchObject({ alias: 'José', tags: ['café'] });
    const byPrecomposed = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/aliases/${encodeURIComponent('José')}/devices`,
      headers: bearer(app.apiKey),
    });
    const byDecomposed = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices?tag=${encodeURIComponent('cafe\u0301')}`,
      headers: bearer(app.apiKey),
    });
    expect(byPrecomposed.json().items).toHaveLength(1);
    expect(byDecomposed.json().items).toHaveLength(1);
  });

  it('refuses bidi controls, BOM and controls in aliases and tags, storing nothing', async () => {
    for (const [body, code] of [
      [{ alias: 'admin\u202e' }, 'PK_ERR_ALIAS_INVALID'],
      [{ alias: '\ufeffbob' }, 'PK_ERR_ALIAS_INVALID'],
      [{ alias: 'a\u2066b' }, 'PK_ERR_ALIAS_INVALID'],
      [{ tags: ['vip\u200f'] }, 'PK_ERR_TAG_INVALID'],
      [{ tags: ['x\u0000'] }, 'PK_ERR_TAG_INVALID'],
    ] as const) {
      const response = await put(tokenFor(0x2), body);
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toMatchObject({ code, details: { reason: 'control-character' } });
    }
    const stored = await h.store.devices.get(app.id, tokenFor(0x2));
    expect(stored.ok && stored.value).toBeNull();
  });

  it('refuses a JSON body that is not UTF-8 instead of storing U+FFFD', async () => {
    const body = Buffer.concat([Buffer.from('{"alias":"bo'), Buffer.from([0xff, 0xfe]), Buffer.from('b"}')]);
    const response = await put(tokenFor(0x3), body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: 'PK_ERR_VALIDATION',
      details: { reason: 'invalid-utf8' },
    });
    const stored = await h.store.devices.get(app.id, tokenFor(0x3));
    expect(stored.ok && stored.value).toBeNull();
  });

  const importLines = (payload: Buffer) =>
    h.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/devices:import`,
      headers: { ...bearer(app.apiKey), 'content-type': 'application/x-ndjson' },
      payload,
    });

  it('the NDJSON import refuses an unknown field, as PUT does', async () => {
    const viaPut = await put(tokenFor(0x10), { alias: 'a', bogus: 1 });
    expect(viaPut.statusCode).toBe(400);
    expect(viaPut.json().error.code).toBe('PK_ERR_VALIDATION');
    const response = await importLines(
      Buffer.from(
        `${JSON.stringify({ token: tokenFor(0x10), alias: 'a', bogus: 1 })}\n${JSON.stringify({ token: tokenFor(0x11) })}\n`,
      ),
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      created: 1,
      rejected: 1,
      rejectedLines: [{ line: 1, code: 'PK_ERR_IMPORT_LINE_INVALID', reason: 'unknown-field' }],
    });
    const refused = await h.store.devices.get(app.id, tokenFor(0x10));
    expect(refused.ok && refused.value).toBeNull();
  });

  it('the NDJSON import refuses a line that is not UTF-8, and NFC-normalises the others', async () => {
    const response = await importLines(
      Buffer.concat([
        Buffer.from(`{"token":"${tokenFor(0x20)}","alias":"bo`),
        Buffer.from([0xc3, 0x28]),
        Buffer.from(`"}\n${JSON.stringify({ token: tokenFor(0x21), alias: 'Jose\u0301' })}\n`),
        Buffer.from(`${JSON.stringify({ token: tokenFor(0x22), alias: 'x\u202e' })}\n`),
      ]),
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      created: 1,
      rejected: 2,
      rejectedLines: [
        { line: 1, code: 'PK_ERR_IMPORT_LINE_INVALID', reason: 'invalid-utf8' },
        { line: 3, code: 'PK_ERR_ALIAS_INVALID', reason: 'control-character' },
      ],
    });
    const stored = await h.store.devices.get(app.id, tokenFor(0x21));
    expect(stored.ok && stored.value?.alias).toBe('José');
  });
});
