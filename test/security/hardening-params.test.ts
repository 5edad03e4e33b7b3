/**
 * Path parameters as long as the domain allows: APNs tokens of up to 200 hex digits (Apple: "their
 * length may vary"; the legacy feedback service reports long ones) and aliases of up to
 * MAX_ALIAS_LENGTH characters, percent-encoded, work end to end; longer ones answer the catalogue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ALIAS_LENGTH, TOKEN_MAX_HEX_LENGTH } from '../../src/domain/index.ts';
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

const longToken = (digits: number, seed: number) =>
  (seed.toString(16).padStart(4, '0') + 'ab'.repeat(digits)).slice(0, digits);

describe('long device tokens', () => {
  for (const digits of [102, 150, TOKEN_MAX_HEX_LENGTH]) {
    it(`a token of ${digits} hex digits is registered, read, unbound and deleted`, async () => {
      const token = longToken(digits, digits);
      const put = await h.app.inject({
        method: 'PUT',
        url: `/v1/apps/${app.id}/devices/${token}`,
        headers: bearer(app.apiKey),
        payload: { alias: 'long-token-user' },
      });
      expect(put.statusCode, put.body).toBe(201);
      const get = await h.app.inject({
        method: 'GET',
        url: `/v1/apps/${app.id}/devices/${token}`,
        headers: bearer(app.apiKey),
      });
      expect(get.statusCode, get.body).toBe(200);
      expect(get.json().token).toBe(token);
      const unbind = await h.app.inject({
        method: 'DELETE',
        url: `/v1/apps/${app.id}/devices/${token}/alias`,
        headers: bearer(app.apiKey),
      });
      expect(unbind.statusCode, unbind.body).toBe(204);
      const deleted = await h.app.inject({
        method: 'DELETE',
        url: `/v1/apps/${app.id}/devices/${token}`,
        headers: bearer(app.apiKey),
      });
      expect(deleted.statusCode, deleted.body).toBe(204);
    });
  }

  it('a token over the domain limit answers the token rule, not a router error', async () => {
    const response = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices/${longToken(TOKEN_MAX_HEX_LENGTH + 2, 1)}`,
      headers: bearer(app.apiKey),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: 'PK_ERR_TOKEN_INVALID',
      details: { reason: 'too-long' },
    });
  });
});

describe('long aliases', () => {
  const aliases = {
    ascii: 'u'.repeat(MAX_ALIAS_LENGTH),
    // Three UTF-8 bytes per character: the longest percent-encoded form of a valid alias.
    cjk: '用'.repeat(MAX_ALIAS_LENGTH),
    emoji: '😀'.repeat(MAX_ALIAS_LENGTH / 2),
  };
  for (const [name, alias] of Object.entries(aliases)) {
    it(`an alias of ${MAX_ALIAS_LENGTH} units (${name}) is listed and logged out everywhere`, async () => {
      const token = longToken(64, alias.codePointAt(0)!);
      const put = await h.app.inject({
        method: 'PUT',
        url: `/v1/apps/${app.id}/devices/${token}`,
        headers: bearer(app.apiKey),
        payload: { alias },
      });
      expect(put.statusCode, put.body).toBe(201);
      const encoded = encodeURIComponent(alias);
      const list = await h.app.inject({
        method: 'GET',
        url: `/v1/apps/${app.id}/aliases/${encoded}/devices`,
        headers: bearer(app.apiKey),
      });
      expect(list.statusCode, list.body).toBe(200);
      expect(list.json().items.map((d: { token: string }) => d.token)).toEqual([token]);
      const logout = await h.app.inject({
        method: 'DELETE',
        url: `/v1/apps/${app.id}/aliases/${encoded}`,
        headers: bearer(app.apiKey),
      });
      expect(logout.statusCode, logout.body).toBe(200);
      expect(logout.json()).toEqual({ alias, unbound: 1 });
    });
  }
});
