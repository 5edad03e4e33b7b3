/**
 * The attack this guards against: the publishable key ships inside the app, so anyone has it. With
 * it alone, `PUT …/devices/<attacker's token> {"alias": "<victim>"}` used to bind the attacker's
 * device to the victim, and the backend's next push to the victim ("your sign-in code is …")
 * reached the attacker too. Now an alias is bound only with the backend's signed aliasToken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  type CreatedApp,
  createApp,
  createHarness,
  type Harness,
  tokenFor,
} from '../http/harness.ts';
import { aliasTokenFor, mintAliasToken } from './alias-token-minting.ts';

let h: Harness;
let app: CreatedApp;
let other: CreatedApp;

beforeAll(async () => {
  h = await createHarness();
  app = await createApp(h, 'Identity');
  other = await createApp(h, 'Other');
});
afterAll(async () => {
  await h.close();
});

const put = (token: string, payload: object, key: string, appId = app.id) =>
  h.app.inject({ method: 'PUT', url: `/v1/apps/${appId}/devices/${token}`, headers: bearer(key), payload });

async function rotate(key = app.apiKey, appId = app.id) {
  return h.app.inject({ method: 'POST', url: `/v1/apps/${appId}/identity-secret`, headers: bearer(key) });
}

async function storedAlias(token: string, appId = app.id): Promise<string | null | undefined> {
  const device = await h.store.devices.get(appId, token);
  return device.ok ? (device.value?.alias ?? (device.value === null ? undefined : null)) : undefined;
}

describe('binding an alias with the publishable key', () => {
  it('is refused without an identity secret, with a code that says to create one', async () => {
    const attacker = tokenFor(0xa77ac);
    const response = await put(attacker, { alias: 'victim' }, app.publishableKey);
    expect(response.statusCode).toBe(409);
    expect(response.json().error.code).toBe('PK_ERR_IDENTITY_SECRET_MISSING');
    expect(await storedAlias(attacker)).toBeUndefined();
  });

  it('creates the identity secret with a server key, answers it once and never again', async () => {
    const created = await rotate();
    expect(created.statusCode).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const { identitySecret } = created.json();
    expect(identitySecret).toMatch(/^pk_idsec_[A-Za-z0-9_-]{43}$/);
    const shown = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}`,
      headers: bearer(app.apiKey),
    });
    expect(shown.body).not.toContain(identitySecret);
    expect(await h.store.identitySecrets.get(app.id)).toBe(identitySecret);
  });

  it('the attack: {"alias": "victim"} with only the publishable key binds nothing', async () => {
    const attacker = tokenFor(0xa77ac);
    const response = await put(attacker, { alias: 'victim' }, app.publishableKey);
    expect(response.statusCode).toBe(403);
    expect(response.json().error.code).toBe('PK_ERR_ALIAS_TOKEN_REQUIRED');
    expect(await storedAlias(attacker)).toBeUndefined();
    const victims = await h.store.devices.list(app.id, { alias: 'victim' });
    expect(victims.ok && victims.value.items).toEqual([]);
  });

  it('the attack with forged tokens: another secret, alg none, another sub, too long a life', async () => {
    const secret = (await h.store.identitySecrets.get(app.id))!;
    const now = Math.floor(Date.now() / 1000);
    const attacker = tokenFor(0xa77ad);
    const attempts: [object, string][] = [
      [{ alias: 'victim', aliasToken: aliasTokenFor('pk_idsec_guessed', 'victim') }, 'signature'],
      [
        {
          alias: 'victim',
          aliasToken: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'victim', exp: now + 60 })).toString('base64url')}.`,
        },
        'algorithm',
      ],
      [{ alias: 'victim', aliasToken: aliasTokenFor(secret, 'attacker') }, 'subject-mismatch'],
      [
        { alias: 'victim', aliasToken: aliasTokenFor(secret, 'victim', { lifetimeSeconds: 7 * 86_400 }) },
        'lifetime-too-long',
      ],
      [
        {
          alias: 'victim',
          aliasToken: aliasTokenFor(secret, 'victim', { nowSeconds: now - 7200, lifetimeSeconds: 3600 }),
        },
        'expired',
      ],
      [{ aliasToken: 'not-a-jwt' }, 'malformed'],
    ];
    for (const [body, reason] of attempts) {
      const response = await put(attacker, body, app.publishableKey);
      expect(response.statusCode, reason).toBe(403);
      expect(response.json().error).toMatchObject({
        code: 'PK_ERR_ALIAS_TOKEN_INVALID',
        details: { reason },
      });
    }
    expect(await storedAlias(attacker)).toBeUndefined();
  });

  it('binds with a valid aliasToken, with or without "alias" (sub names it)', async () => {
    const secret = (await h.store.identitySecrets.get(app.id))!;
    const phone = tokenFor(0x9401);
    const bound = await put(
      phone,
      { alias: 'user-1', aliasToken: aliasTokenFor(secret, 'user-1') },
      app.publishableKey,
    );
    expect(bound.statusCode).toBe(202);
    expect(await storedAlias(phone)).toBe('user-1');
    const tablet = tokenFor(0x9402);
    const bySub = await put(tablet, { aliasToken: aliasTokenFor(secret, 'user-1') }, app.publishableKey);
    expect(bySub.statusCode).toBe(202);
    expect(await storedAlias(tablet)).toBe('user-1');
    // Logging out on the device needs no proof: it only unbinds.
    expect((await put(tablet, { alias: null }, app.publishableKey)).statusCode).toBe(202);
    expect(await storedAlias(tablet)).toBeNull();
    const confused = await put(
      tablet,
      { alias: null, aliasToken: aliasTokenFor(secret, 'user-1') },
      app.publishableKey,
    );
    expect(confused.statusCode).toBe(400);
    expect(confused.json().error.code).toBe('PK_ERR_VALIDATION');
  });

  it('a token of one app does not bind in another', async () => {
    const secret = (await h.store.identitySecrets.get(app.id))!;
    expect((await rotate(other.apiKey, other.id)).statusCode).toBe(201);
    const token = tokenFor(0x9403);
    const response = await put(
      token,
      { aliasToken: aliasTokenFor(secret, 'user-1') },
      other.publishableKey,
      other.id,
    );
    expect(response.json().error).toMatchObject({
      code: 'PK_ERR_ALIAS_TOKEN_INVALID',
      details: { reason: 'signature' },
    });
  });

  it('a rotation invalidates tokens signed with the previous secret', async () => {
    const before = (await h.store.identitySecrets.get(app.id))!;
    const minted = aliasTokenFor(before, 'user-2');
    const rotated = await rotate();
    expect(rotated.json().identitySecret).not.toBe(before);
    const response = await put(tokenFor(0x9404), { aliasToken: minted }, app.publishableKey);
    expect(response.json().error).toMatchObject({
      code: 'PK_ERR_ALIAS_TOKEN_INVALID',
      details: { reason: 'signature' },
    });
    const fresh = aliasTokenFor(rotated.json().identitySecret, 'user-2');
    expect((await put(tokenFor(0x9404), { aliasToken: fresh }, app.publishableKey)).statusCode).toBe(202);
  });

  it('only a server key (or the admin) rotates; the publishable key and other apps cannot', async () => {
    const publishable = await rotate(app.publishableKey);
    expect(publishable.statusCode).toBe(403);
    expect(publishable.json().error.code).toBe('PK_ERR_FORBIDDEN');
    const foreign = await rotate(other.apiKey);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe('PK_ERR_APP_NOT_FOUND');
    expect((await rotate(h.adminToken)).statusCode).toBe(201);
  });
});

describe('binding an alias with a server key', () => {
  it('needs no token; a token it sends is checked all the same', async () => {
    const token = tokenFor(0x5e41);
    const bound = await put(token, { alias: 'backend-chose' }, app.apiKey);
    expect(bound.statusCode).toBe(201);
    expect(bound.json().alias).toBe('backend-chose');
    const secret = (await h.store.identitySecrets.get(app.id))!;
    const wrong = await put(
      token,
      { alias: 'x', aliasToken: mintAliasToken(secret, { sub: 'y', exp: 9e9 }) },
      app.apiKey,
    );
    expect(wrong.statusCode).toBe(403);
    expect(await storedAlias(token)).toBe('backend-chose');
  });
});

describe('what a publishable registration answers', () => {
  it('one shape whether the device existed or not, with nothing of the stored device', async () => {
    const existing = tokenFor(0xe415);
    await put(existing, { alias: 'secret-user', tags: ['vip'], locale: 'fr' }, app.apiKey);
    await h.store.devices.markSuccess(app.id, [existing as never], new Date());
    const fresh = tokenFor(0xf4e5);
    const forExisting = await put(existing, {}, app.publishableKey);
    const forFresh = await put(fresh, {}, app.publishableKey);
    expect(forExisting.statusCode).toBe(202);
    expect(forFresh.statusCode).toBe(202);
    expect(Object.keys(forExisting.json()).sort()).toEqual(Object.keys(forFresh.json()).sort());
    expect(forExisting.json()).toEqual({ token: existing, registered: true });
    expect(forFresh.json()).toEqual({ token: fresh, registered: true });
    for (const leak of ['secret-user', 'vip', 'fr', 'createdAt', 'lastSuccessAt', 'alias', 'tags']) {
      expect(forExisting.body).not.toContain(leak);
    }
    // The refresh kept what it did not name.
    expect(await storedAlias(existing)).toBe('secret-user');
  });
});
