import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type CreatedApp, createApp, createHarness, type Harness, tokenFor } from './harness.ts';

let h: Harness;
let app: CreatedApp;
beforeAll(async () => {
  h = await createHarness({ publishableRegistrationsPerHour: 3 });
  app = await createApp(h);
});
afterAll(async () => {
  await h.close();
});

const put = (token: string, payload: unknown, key = app.apiKey) =>
  h.app.inject({
    method: 'PUT',
    url: `/v1/apps/${app.id}/devices/${token}`,
    headers: bearer(key),
    payload: payload as object,
  });

describe('PUT /v1/apps/:app/devices/:token', () => {
  it('registers (201) then refreshes (200), normalising the token to lower case', async () => {
    const upper = tokenFor(0xabc).toUpperCase();
    const first = await put(upper, {
      environment: 'sandbox',
      alias: '42',
      tags: ['beta', 'beta', 'alpha'],
      locale: 'en_GB',
    });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({
      token: upper.toLowerCase(),
      environment: 'sandbox',
      alias: '42',
      tags: ['alpha', 'beta'],
      locale: 'en_GB',
    });
    const second = await put(upper.toLowerCase(), { alias: '43' });
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({ environment: 'sandbox', alias: '43', tags: ['alpha', 'beta'] });
    expect(Date.parse(second.json().lastRegisteredAt)).toBeGreaterThanOrEqual(
      Date.parse(first.json().lastRegisteredAt),
    );
  });

  it('a refresh with tags replaces the tags (listing by tag follows); one without keeps them', async () => {
    const token = tokenFor(0xab1);
    const byTag = async (tag: string) =>
      (
        await h.app.inject({
          method: 'GET',
          url: `/v1/apps/${app.id}/devices?tag=${tag}`,
          headers: bearer(app.apiKey),
        })
      )
        .json()
        .items.map((d: { token: string }) => d.token);
    expect((await put(token, { tags: ['old-a', 'old-b'] })).statusCode).toBe(201);
    const replaced = await put(token, { tags: ['new'] });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json().tags).toEqual(['new']);
    expect(await byTag('old-a')).toEqual([]);
    expect(await byTag('new')).toEqual([token]);
    const kept = await put(token, { alias: 'tagged' });
    expect(kept.json()).toMatchObject({ alias: 'tagged', tags: ['new'] });
    expect(await byTag('new')).toEqual([token]);
  });

  it('accepts an empty body and no body (a plain refresh)', async () => {
    const noBody = await h.app.inject({
      method: 'PUT',
      url: `/v1/apps/${app.id}/devices/${tokenFor(0xdef)}`,
      headers: bearer(app.apiKey),
    });
    expect(noBody.statusCode).toBe(201);
    expect(noBody.json().environment).toBe('production');
  });

  it.each([
    ['a short token', 'abcd', {}, 'PK_ERR_TOKEN_INVALID'],
    ['a non-hex token', 'z'.repeat(64), {}, 'PK_ERR_TOKEN_INVALID'],
    ['an odd-length token', 'a'.repeat(65), {}, 'PK_ERR_TOKEN_INVALID'],
    ['an unknown environment', tokenFor(1), { environment: 'staging' }, 'PK_ERR_ENVIRONMENT_INVALID'],
    ['an empty alias', tokenFor(1), { alias: '' }, 'PK_ERR_ALIAS_INVALID'],
    ['a control character in a tag', tokenFor(1), { tags: ['a\u0001'] }, 'PK_ERR_TAG_INVALID'],
    ['a bad locale', tokenFor(1), { locale: 'english please' }, 'PK_ERR_LOCALE_INVALID'],
    ['tags that are not strings', tokenFor(1), { tags: [{ a: 1 }] }, 'PK_ERR_VALIDATION'],
    ['an unknown field', tokenFor(1), { colour: 'red' }, 'PK_ERR_VALIDATION'],
    // JSON bodies are not coerced (src/http/validators.ts): these were once stored as "42" and ["beta"].
    ['a number as the alias', tokenFor(1), { alias: 42 }, 'PK_ERR_VALIDATION'],
    ['one string as the tags', tokenFor(1), { tags: 'beta' }, 'PK_ERR_VALIDATION'],
    ['a boolean as the locale', tokenFor(1), { locale: true }, 'PK_ERR_VALIDATION'],
  ])('answers 400 for %s and stores nothing', async (_name, token, payload, code) => {
    const response = await put(token, payload);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe(code);
    expect(await h.store.devices.count(app.id, { all: true })).toBeGreaterThanOrEqual(0);
    const stored = await h.store.devices.get(app.id, tokenFor(1));
    expect(stored.ok && stored.value).toBeNull();
  });

  it('lets a publishable key register and bind an alias, rate-limited per device', async () => {
    const token = tokenFor(0x77);
    for (let i = 0; i < 3; i += 1) {
      const response = await put(token, { alias: 'user-1' }, app.publishableKey);
      expect(response.statusCode).toBe(i === 0 ? 201 : 200);
    }
    const limited = await put(token, { alias: 'user-1' }, app.publishableKey);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('PK_ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another device is not affected; the server key is not limited this way.
    expect((await put(tokenFor(0x78), {}, app.publishableKey)).statusCode).toBe(201);
    expect((await put(token, {})).statusCode).toBe(200);
  });

  it('refuses the publishable key everything else', async () => {
    const token = tokenFor(0x77);
    const key = bearer(app.publishableKey);
    const refused = [
      { method: 'GET' as const, url: `/v1/apps/${app.id}/devices/${token}` },
      { method: 'DELETE' as const, url: `/v1/apps/${app.id}/devices/${token}` },
      { method: 'GET' as const, url: `/v1/apps/${app.id}/devices` },
      { method: 'DELETE' as const, url: `/v1/apps/${app.id}/devices/${token}/alias` },
      { method: 'GET' as const, url: `/v1/apps/${app.id}/aliases/user-1/devices` },
      { method: 'DELETE' as const, url: `/v1/apps/${app.id}/aliases/user-1` },
    ];
    for (const request of refused) {
      const response = await h.app.inject({ ...request, headers: key });
      expect(response.statusCode, `${request.method} ${request.url}`).toBe(403);
      expect(response.json().error.code).toBe('PK_ERR_FORBIDDEN');
    }
    const device = await h.store.devices.get(app.id, token);
    expect(device.ok && device.value?.alias).toBe('user-1');
  });
});

describe('reading, listing, unregistering', () => {
  it('reads one device and answers 404 for an unknown one', async () => {
    await put(tokenFor(0x100), { alias: 'reader' });
    const found = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices/${tokenFor(0x100)}`,
      headers: bearer(app.apiKey),
    });
    expect(found.statusCode).toBe(200);
    expect(found.json().alias).toBe('reader');
    const missing = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices/${tokenFor(0x101)}`,
      headers: bearer(app.apiKey),
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('PK_ERR_DEVICE_NOT_FOUND');
    const bad = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices/xyz`,
      headers: bearer(app.apiKey),
    });
    expect(bad.json().error.code).toBe('PK_ERR_TOKEN_INVALID');
  });

  it('lists with filters and cursor pagination, each device once', async () => {
    for (let i = 0; i < 7; i += 1)
      await put(tokenFor(0x200 + i), { alias: 'pager', tags: i % 2 === 0 ? ['even'] : [] });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `alias=pager&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await h.app.inject({
        method: 'GET',
        url: `/v1/apps/${app.id}/devices?${query}`,
        headers: bearer(app.apiKey),
      });
      expect(response.statusCode).toBe(200);
      seen.push(...response.json().items.map((d: { token: string }) => d.token));
      cursor = response.json().nextCursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);

    const tagged = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices?tag=even`,
      headers: bearer(app.apiKey),
    });
    expect(tagged.json().items).toHaveLength(4);
    const sandbox = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices?environment=sandbox`,
      headers: bearer(app.apiKey),
    });
    expect(sandbox.json().items.every((d: { environment: string }) => d.environment === 'sandbox')).toBe(
      true,
    );

    const two = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices?tag=even&alias=pager`,
      headers: bearer(app.apiKey),
    });
    expect(two.json().error).toMatchObject({ code: 'PK_ERR_VALIDATION', details: { reason: 'one-filter' } });
    const env = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices?environment=moon`,
      headers: bearer(app.apiKey),
    });
    expect(env.json().error.code).toBe('PK_ERR_ENVIRONMENT_INVALID');
    const cursorBad = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices?cursor=nope!`,
      headers: bearer(app.apiKey),
    });
    expect(cursorBad.json().error.code).toBe('PK_ERR_CURSOR_INVALID');
  });

  it('unregisters a device (204, then 404)', async () => {
    await put(tokenFor(0x300), {});
    const url = `/v1/apps/${app.id}/devices/${tokenFor(0x300)}`;
    expect((await h.app.inject({ method: 'DELETE', url, headers: bearer(app.apiKey) })).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'DELETE', url, headers: bearer(app.apiKey) })).statusCode).toBe(404);
  });
});

describe('aliases', () => {
  it('lists the devices of one alias, unbinds one device and then all of them', async () => {
    for (const n of [0x400, 0x401, 0x402]) await put(tokenFor(n), { alias: 'user 42/ü' });
    const alias = encodeURIComponent('user 42/ü');
    const listed = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/aliases/${alias}/devices`,
      headers: bearer(app.apiKey),
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items).toHaveLength(3);

    const one = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${app.id}/devices/${tokenFor(0x400)}/alias`,
      headers: bearer(app.apiKey),
    });
    expect(one.statusCode).toBe(204);
    const device = await h.store.devices.get(app.id, tokenFor(0x400));
    expect(device.ok && device.value?.alias).toBeNull();
    const unknown = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${app.id}/devices/${tokenFor(0x4ff)}/alias`,
      headers: bearer(app.apiKey),
    });
    expect(unknown.statusCode).toBe(404);

    const all = await h.app.inject({
      method: 'DELETE',
      url: `/v1/apps/${app.id}/aliases/${alias}`,
      headers: bearer(app.apiKey),
    });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({ alias: 'user 42/ü', unbound: 2 });
    expect(await h.store.devices.count(app.id, { alias: 'user 42/ü' })).toBe(0);
  });
});

describe('POST /v1/apps/:app/devices:import', () => {
  const ndjson = (body: string, key = app.apiKey) =>
    h.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/devices:import`,
      headers: { ...bearer(key), 'content-type': 'application/x-ndjson' },
      payload: body,
    });

  it('imports valid lines and reports rejected ones with their line numbers', async () => {
    const lines = [
      JSON.stringify({ token: tokenFor(0x500), alias: 'imp', tags: ['x'] }),
      '',
      'not json',
      JSON.stringify({ token: tokenFor(0x501), environment: 'sandbox' }),
      JSON.stringify({ token: 'abc' }),
      '[1,2]',
      JSON.stringify({ token: tokenFor(0x502), alias: '' }),
      JSON.stringify({ token: tokenFor(0x500), alias: 'imp2' }),
    ];
    const response = await ndjson(`${lines.join('\n')}\n`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.rejected).toBe(4);
    expect(body.rejectedLines.map((l: { line: number; code: string }) => [l.line, l.code])).toEqual([
      [3, 'PK_ERR_IMPORT_LINE_INVALID'],
      [5, 'PK_ERR_TOKEN_INVALID'],
      [6, 'PK_ERR_IMPORT_LINE_INVALID'],
      [7, 'PK_ERR_ALIAS_INVALID'],
    ]);
    // Two lines of one token in one batch count once (the later line wins).
    expect(body.created + body.updated).toBe(2);
    const device = await h.store.devices.get(app.id, tokenFor(0x500));
    expect(device.ok && device.value?.alias).toBe('imp2');
  });

  it('imports many lines split across arbitrary chunks without a trailing newline', async () => {
    const lines = Array.from({ length: 2500 }, (_, i) =>
      JSON.stringify({ token: tokenFor(0x10000 + i), alias: `bulk-${i % 10}` }),
    );
    const response = await ndjson(lines.join('\r\n'));
    expect(response.json()).toMatchObject({ created: 2500, updated: 0, rejected: 0, rejectedLines: [] });
    expect(await h.store.devices.count(app.id, { alias: 'bulk-3' })).toBe(250);
  });

  it('rejects a line over the per-line limit but goes on', async () => {
    const long = JSON.stringify({ token: tokenFor(0x600), alias: 'x'.repeat(20_000) });
    const response = await ndjson(`${long}\n${JSON.stringify({ token: tokenFor(0x601) })}\n`);
    expect(response.json()).toMatchObject({
      created: 1,
      rejected: 1,
      rejectedLines: [{ line: 1, reason: 'line-too-long' }],
    });
  });

  it('refuses JSON bodies and the publishable key', async () => {
    const json = await h.app.inject({
      method: 'POST',
      url: `/v1/apps/${app.id}/devices:import`,
      headers: bearer(app.apiKey),
      payload: [{ token: tokenFor(0x700) }],
    });
    expect(json.statusCode).toBe(415);
    expect(json.json().error.code).toBe('PK_ERR_MEDIA_TYPE_UNSUPPORTED');
    const pub = await ndjson(JSON.stringify({ token: tokenFor(0x701) }), app.publishableKey);
    expect(pub.statusCode).toBe(403);
    const stored = await h.store.devices.get(app.id, tokenFor(0x701));
    expect(stored.ok && stored.value).toBeNull();
  });
});
