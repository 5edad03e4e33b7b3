/**
 * Tenant isolation over every route the app serves, generated from its route table (src/http/
 * route-table.ts): a route added later is covered without being listed here, and a route that
 * declares no access rule fails the first test.
 *
 * Two apps, A (the attacker) and B (the victim), and every kind of key: the admin token, and each
 * app's server and publishable keys. For each route and caller the expected answer follows from the
 * route's declared access alone:
 * - no key → 401 PK_ERR_UNAUTHENTICATED (unless the route is public);
 * - A's keys on B's path → 404 PK_ERR_APP_NOT_FOUND, the answer for an app that does not exist;
 * - an app key where its scope is not enough → 403 PK_ERR_FORBIDDEN;
 * - otherwise the caller is let through (checked on a third app, C, so B is never touched).
 * B's data is snapshotted before and after: nothing A does changes it or is answered back to A.
 */
import type { DeviceToken } from '../../src/domain/index.ts';
import type { Access } from '../../src/http/access.ts';
import type { RouteEntry } from '../../src/http/route-table.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  type CreatedApp,
  createApp,
  createHarness,
  type Harness,
  tokenFor,
} from '../http/harness.ts';

/** Swagger UI's pages and the OpenAPI document: public by design, registered by the swagger plugins. */
const isDocumentation = (url: string) =>
  url === '/openapi.json' || url === '/docs' || url.startsWith('/docs/');

type Caller = 'no key' | 'admin token' | 'A server' | 'A publishable' | 'B server' | 'B publishable';
type Expected = 'unauthenticated' | 'app-not-found' | 'forbidden' | 'let through';

interface Tenant {
  readonly app: CreatedApp;
  readonly token: string;
  readonly alias: string;
  readonly notificationId: string;
  /** A key made for the routes that take a key id (revoking it harms nothing else). */
  readonly spareKeyId: string;
}

let h: Harness;
let a: Tenant;
let b: Tenant;
let c: Tenant;

async function tenant(name: string, n: number): Promise<Tenant> {
  const app = await createApp(h, name, { feedback: { host: '127.0.0.1', port: 2196 } });
  const token = tokenFor(0xb0b00 + n);
  const alias = `${name.toLowerCase()}-user`;
  await h.store.devices.register(app.id, { token, alias, tags: [`${name}-private-tag`] });
  await h.store.devices.register(app.id, { token: tokenFor(0xdead0 + n) }, new Date('2025-01-01T00:00:00Z'));
  await h.store.invalidations.invalidate(app.id, tokenFor(0xdead0 + n) as DeviceToken, {
    reason: 'Unregistered',
    source: 'apns-410',
    at: new Date('2026-01-01T00:00:00Z'),
  });
  await h.store.identitySecrets.replace(app.id, `pk_idsec_${name}-identity-secret-0123456789abcdef`);
  const pushed = await h.app.inject({
    method: 'POST',
    url: `/v1/apps/${app.id}/notifications`,
    headers: bearer(app.apiKey),
    payload: { audience: { alias }, payload: { aps: { alert: 'hi' } } },
  });
  const spare = await h.app.inject({
    method: 'POST',
    url: `/v1/apps/${app.id}/keys`,
    headers: bearer(app.apiKey),
    payload: { scope: 'server' },
  });
  return { app, token, alias, notificationId: pushed.json().id, spareKeyId: spare.json().id };
}

/** Every path parameter a route may have, filled from one tenant; a new parameter must be added here. */
function concreteUrl(route: RouteEntry, owner: Tenant, resources: Tenant = owner): string {
  const values: Record<string, string> = {
    app: owner.app.id,
    token: resources.token,
    alias: resources.alias,
    id: resources.notificationId,
    keyId: resources.spareKeyId,
  };
  // `::` is Fastify's escaped literal colon (`devices::import` serves `devices:import`).
  return route.url
    .replaceAll('::', '\u0000')
    .replace(/:(\w+)/g, (_match, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`${route.method} ${route.url}: no test value for :${name}`);
      return encodeURIComponent(value);
    })
    .replaceAll('\u0000', ':');
}

function expectedFor(route: RouteEntry, caller: Caller): Expected {
  const access = route.access as Access;
  if (access === 'public') return 'let through';
  if (caller === 'no key') return 'unauthenticated';
  if (caller === 'admin token') return 'let through';
  const hasApp = route.url.includes('/:app');
  if (caller.startsWith('A ')) return hasApp ? 'app-not-found' : 'forbidden';
  if (!hasApp || access === 'admin') return 'forbidden';
  if (access === 'server' && caller === 'B publishable') return 'forbidden';
  return 'let through';
}

function keyOf(caller: Caller, owner: Tenant): string | null {
  switch (caller) {
    case 'no key':
      return null;
    case 'admin token':
      return h.adminToken;
    case 'A server':
      return a.app.apiKey;
    case 'A publishable':
      return a.app.publishableKey;
    case 'B server':
      return owner.app.apiKey;
    case 'B publishable':
      return owner.app.publishableKey;
  }
}

async function call(route: RouteEntry, url: string, key: string | null) {
  const withBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
  return h.app.inject({
    method: route.method as 'GET',
    url,
    headers: key === null ? {} : bearer(key),
    ...(withBody ? { payload: {} } : {}),
  });
}

async function snapshotOf(t: Tenant) {
  const id = t.app.id;
  const device = await h.store.devices.get(id, t.token);
  const notification = await h.store.notifications.get(id, t.notificationId);
  const app = await h.store.apps.get(id);
  const invalidations = await h.store.invalidations.list(id);
  return {
    app:
      app === null
        ? null
        : { name: app.name, topic: app.topic, webhookUrl: app.webhookUrl, feedback: app.feedback },
    device: device.ok ? device.value : null,
    devices: await h.store.devices.count(id, { all: true }),
    notification: notification === null ? null : { status: notification.status, counts: notification.counts },
    keys: (await h.store.keys.list(id)).map((k) => [k.id, k.revokedAt]),
    invalidations: invalidations.ok ? invalidations.value.items.length : -1,
    identitySecret: await h.store.identitySecrets.get(id),
    polls: h.feedback.polls.filter((polled) => polled === id).length,
  };
}

/** What of B must never appear in an answer to A. */
function secretsOf(t: Tenant): string[] {
  return [t.token, t.alias, t.notificationId, t.spareKeyId, ...unguessableOf(t)];
}

/** What of B an attacker cannot have sent itself, so cannot see echoed back either. */
function unguessableOf(t: Tenant): string[] {
  const name = t.app.id === b.app.id ? 'B' : t.app.id === a.app.id ? 'A' : 'C';
  return [`${name}-private-tag`, `${name}-identity-secret`, t.app.apiKey, t.app.publishableKey];
}

const routes = (): readonly RouteEntry[] => h.app.routeTable;

beforeAll(async () => {
  h = await createHarness({ rateLimitPerKey: 1_000_000 });
  a = await tenant('A', 1);
  b = await tenant('B', 2);
  c = await tenant('C', 3);
});
afterAll(async () => {
  await h.close();
});

describe('the route table', () => {
  it('is complete, and every route declares who may call it', () => {
    expect(routes().length).toBeGreaterThan(30);
    const undeclared = routes().filter((route) => route.access === undefined && !isDocumentation(route.url));
    expect(undeclared.map((route) => `${route.method} ${route.url}`)).toEqual([]);
    for (const route of routes()) {
      if (route.access !== undefined)
        expect(['public', 'admin', 'server', 'publishable']).toContain(route.access);
    }
    // Only the probes and the documentation are public.
    const publicRoutes = routes().filter((route) => route.access === 'public' || route.access === undefined);
    for (const route of publicRoutes)
      expect(isDocumentation(route.url) || ['/healthz', '/readyz'].includes(route.url)).toBe(true);
  });
});

describe("A's keys, and B's own where their scope is not enough, on B's resources", () => {
  const callers: Caller[] = ['no key', 'A server', 'A publishable', 'B server', 'B publishable'];

  it('are refused on every route, learn nothing of B and change nothing of B', async () => {
    const before = await snapshotOf(b);
    let checked = 0;
    for (const route of routes()) {
      if (isDocumentation(route.url)) continue;
      for (const caller of callers) {
        const expected = expectedFor(route, caller);
        if (expected === 'let through') continue;
        const key = keyOf(caller, b);
        const response = await call(route, concreteUrl(route, b), key);
        const label = `${caller} → ${route.method} ${route.url}`;
        const [status, code] = {
          unauthenticated: [401, 'PK_ERR_UNAUTHENTICATED'],
          'app-not-found': [404, 'PK_ERR_APP_NOT_FOUND'],
          forbidden: [403, 'PK_ERR_FORBIDDEN'],
        }[expected] as [number, string];
        expect(response.statusCode, label).toBe(status);
        if (route.method !== 'HEAD') {
          // Without a key the code says what was missing (PK_ERR_API_KEY_MISSING and friends).
          if (expected === 'unauthenticated') expect(response.json().error.code, label).toMatch(/^PK_ERR_(UNAUTHENTICATED|API_KEY_)/);
          else expect(response.json().error.code, label).toBe(code);
        }
        for (const secret of secretsOf(b)) expect(response.body, label).not.toContain(secret);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(await snapshotOf(b)).toEqual(before);
  });

  it("B's resource ids under A's own path reach nothing of B", async () => {
    const before = await snapshotOf(b);
    for (const route of routes()) {
      if (isDocumentation(route.url) || !route.url.includes('/:app')) continue;
      for (const caller of ['A server', 'A publishable'] as const) {
        const response = await call(route, concreteUrl(route, a, b), keyOf(caller, a));
        const label = `${caller} → ${route.method} ${route.url} with B's ids`;
        expect(response.statusCode, label).not.toBe(500);
        // B's ids are not among them: A sent them, and may see them echoed (a PUT of B's token on
        // A's path makes it A's own device). The snapshot below is what proves B was not reached.
        for (const secret of unguessableOf(b)) {
          expect(response.body, label).not.toContain(secret);
        }
      }
    }
    expect(await snapshotOf(b)).toEqual(before);
  });
});

describe('the callers a route allows', () => {
  it('are let through on every route (checked on a third app, so the refusals above are real)', async () => {
    // Deleting the app goes last, after every other route had the app to work on.
    const ordered = [...routes()]
      .filter((route) => !isDocumentation(route.url))
      .sort(
        (x, y) =>
          Number(x.method === 'DELETE' && x.url === '/v1/apps/:app') -
          Number(y.method === 'DELETE' && y.url === '/v1/apps/:app'),
      );
    let letThrough = 0;
    for (const route of ordered) {
      for (const caller of ['B publishable', 'B server', 'admin token', 'no key'] as const) {
        if (expectedFor(route, caller) !== 'let through') continue;
        const response = await call(route, concreteUrl(route, c), keyOf(caller, c));
        const label = `${caller} → ${route.method} ${route.url}`;
        expect([401, 403, 500], label).not.toContain(response.statusCode);
        if (route.method !== 'HEAD' && response.statusCode >= 400) {
          expect(['PK_ERR_APP_NOT_FOUND', 'PK_ERR_NOT_FOUND', 'PK_ERR_UNAUTHENTICATED'], label).not.toContain(
            response.json().error.code,
          );
        }
        letThrough += 1;
      }
    }
    expect(letThrough).toBeGreaterThan(40);
  });
});
