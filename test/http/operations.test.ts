import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushkeeperError } from '../../src/errors.ts';
import { buildMetricsApp } from '../../src/http/index.ts';
import {
  allLogLines,
  bearer,
  type CreatedApp,
  createApp,
  createHarness,
  type Harness,
  P8_KEY,
  tokenFor,
} from './harness.ts';

let h: Harness;
let app: CreatedApp;
beforeAll(async () => {
  h = await createHarness({ bodyLimitBytes: 4096, rateLimitPerKey: 30 });
  app = await createApp(h);
});
afterAll(async () => {
  await h.close();
});

describe('liveness, readiness, metrics', () => {
  it('answers /healthz and /readyz without a key', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', store: true, queue: true, shuttingDown: false });
    h.storeReady = false;
    try {
      const down = await h.app.inject({ method: 'GET', url: '/readyz' });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ status: 'unavailable', store: false });
    } finally {
      h.storeReady = true;
    }
  });

  it('needs the admin key for /metrics and exposes the HTTP histogram by route template', async () => {
    await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices/${tokenFor(5)}`,
      headers: bearer(app.apiKey),
    });
    expect((await h.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect(
      (await h.app.inject({ method: 'GET', url: '/metrics', headers: bearer(app.apiKey) })).statusCode,
    ).toBe(403);
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics', headers: bearer(h.adminToken) });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain('pushkeeper_http_request_duration_seconds_bucket');
    expect(metrics.body).toContain('route="/v1/apps/:app/devices/:token"');
    expect(metrics.body).not.toContain(tokenFor(5));
  });

  it('serves /metrics without a key on the separate metrics app', async () => {
    const metricsApp = await buildMetricsApp({
      metrics: { registry: h.registry },
      logger: h.app.log as never,
    });
    try {
      const response = await metricsApp.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('pushkeeper_http_request_duration_seconds');
    } finally {
      await metricsApp.close();
    }
  });

  it('answers 503 PK_ERR_SHUTTING_DOWN while shutting down, except /healthz', async () => {
    h.shuttingDown = true;
    try {
      const refused = await h.app.inject({
        method: 'GET',
        url: `/v1/apps/${app.id}/devices`,
        headers: bearer(app.apiKey),
      });
      expect(refused.statusCode).toBe(503);
      expect(refused.json().error.code).toBe('PK_ERR_SHUTTING_DOWN');
      expect(refused.headers['retry-after']).toBeDefined();
      expect((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      h.shuttingDown = false;
    }
  });

  it('answers 503 when the store is unavailable', async () => {
    const original = h.push.accept;
    h.push.accept = async () => {
      throw new PushkeeperError('PK_ERR_QUEUE_UNAVAILABLE');
    };
    try {
      const response = await h.app.inject({
        method: 'POST',
        url: `/v1/apps/${app.id}/notifications`,
        headers: bearer(app.apiKey),
        payload: { audience: { alias: '1' }, payload: { aps: { alert: 'x' } } },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('PK_ERR_QUEUE_UNAVAILABLE');
    } finally {
      h.push.accept = original;
    }
  });
});

describe('limits and unknown routes', () => {
  it('answers 413 for a body over the limit, before parsing it', async () => {
    const response = await h.app.inject({
      method: 'PUT',
      url: `/v1/apps/${app.id}/devices/${tokenFor(9)}`,
      headers: { ...bearer(app.apiKey), 'content-type': 'application/json' },
      payload: `{"alias": "${'x'.repeat(5000)}"}`,
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('PK_ERR_BODY_TOO_LARGE');
    const stored = await h.store.devices.get(app.id, tokenFor(9));
    expect(stored.ok && stored.value).toBeNull();
  });

  it('answers 404 PK_ERR_NOT_FOUND for unknown routes', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/v2/nothing' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('PK_ERR_NOT_FOUND');
  });

  it('rate-limits per key with retry-after, independently for each key', async () => {
    const other = await createApp(h, 'Limited');
    let limited: {
      statusCode: number;
      headers: Record<string, unknown>;
      json(): { error: { code: string } };
    } | null = null;
    for (let i = 0; i < 40 && limited === null; i += 1) {
      const response = await h.app.inject({
        method: 'GET',
        url: `/v1/apps/${other.id}/devices`,
        headers: bearer(other.apiKey),
      });
      if (response.statusCode === 429) limited = response;
    }
    expect(limited).not.toBeNull();
    expect(limited!.json().error.code).toBe('PK_ERR_RATE_LIMITED');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const fine = await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${app.id}/devices`,
      headers: bearer(app.apiKey),
    });
    expect(fine.statusCode).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('serves a valid OpenAPI 3 document listing every route of docs/api.md', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toMatch(/^3\./);
    await SwaggerParser.validate(structuredClone(document));
    const expected: Array<[string, string]> = [
      ['post', '/v1/apps'],
      ['get', '/v1/apps'],
      ['get', '/v1/apps/{app}'],
      ['patch', '/v1/apps/{app}'],
      ['delete', '/v1/apps/{app}'],
      ['post', '/v1/apps/{app}/keys'],
      ['delete', '/v1/apps/{app}/keys/{keyId}'],
      ['put', '/v1/apps/{app}/devices/{token}'],
      ['get', '/v1/apps/{app}/devices/{token}'],
      ['delete', '/v1/apps/{app}/devices/{token}'],
      ['get', '/v1/apps/{app}/devices'],
      ['delete', '/v1/apps/{app}/devices/{token}/alias'],
      ['get', '/v1/apps/{app}/aliases/{alias}/devices'],
      ['delete', '/v1/apps/{app}/aliases/{alias}'],
      ['post', '/v1/apps/{app}/devices:import'],
      ['post', '/v1/apps/{app}/notifications'],
      ['get', '/v1/apps/{app}/notifications/{id}'],
      ['get', '/v1/apps/{app}/notifications/{id}/failures'],
      ['delete', '/v1/apps/{app}/notifications/{id}'],
      ['get', '/v1/apps/{app}/invalidations'],
      ['post', '/v1/apps/{app}/feedback:poll'],
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
    ];
    for (const [method, path] of expected) {
      expect(document.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined();
    }
    expect(
      document.paths['/v1/apps'].post.requestBody.content['application/json'].schema.properties.apns,
    ).toBeDefined();
    expect(
      document.paths['/v1/apps/{app}/devices:import'].post.requestBody?.content['application/x-ndjson'],
    ).toBeDefined();
  });

  it('serves the browsable page at /docs', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
  });
});

describe('logs', () => {
  it("a handler's line carries its request's id (request.log is made on first use)", async () => {
    const before = h.logLines.length;
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/apps',
      headers: bearer(h.adminToken),
      payload: {
        name: 'Logged',
        topic: 'com.example.logged',
        apns: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: P8_KEY },
      },
    });
    expect(created.statusCode).toBe(201);
    const lines = h.logLines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    const handlerLine = lines.find((line) => line['msg'] === 'app created');
    const requestLine = lines.find((line) => line['msg'] === 'request completed');
    expect(handlerLine?.['reqId']).toBeDefined();
    expect(handlerLine?.['reqId']).toBe(requestLine?.['reqId']);
    expect(handlerLine?.['appId']).toBe(created.json().id);
  });

  it('never carry secrets or unmasked tokens', async () => {
    // Traffic that puts every kind of secret in front of the logger: keys in headers, a .p8 key and a
    // webhook secret in bodies, tokens in paths and in error messages, a JWT as a bearer key.
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/apps',
      headers: bearer(h.adminToken),
      payload: {
        name: 'Secrets',
        topic: 'com.example.secret',
        apns: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: P8_KEY },
        webhook: { url: 'https://example.test/hook', secret: 'webhook-secret-value' },
      },
    });
    const secretApp = created.json();
    await h.app.inject({
      method: 'PUT',
      url: `/v1/apps/${secretApp.id}/devices/${tokenFor(0xaaa)}`,
      headers: bearer(secretApp.publishableKey),
      payload: { alias: 'x' },
    });
    await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${secretApp.id}/devices/${tokenFor(0xaaa)}?debug=${tokenFor(0xbbb)}`,
      headers: bearer(secretApp.apiKey),
    });
    await h.app.inject({
      method: 'GET',
      url: `/v1/apps/${secretApp.id}/devices`,
      headers: { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln' },
    });
    const original = h.push.accept;
    h.push.accept = async () => {
      throw new Error(`driver failed for ${tokenFor(0xccc)} with ${secretApp.apiKey} and ${P8_KEY}`);
    };
    try {
      const failed = await h.app.inject({
        method: 'POST',
        url: `/v1/apps/${secretApp.id}/notifications`,
        headers: bearer(secretApp.apiKey),
        payload: { audience: { tokens: [tokenFor(0xccc)] }, payload: { aps: { alert: 'x' } } },
      });
      expect(failed.statusCode).toBe(500);
      expect(failed.json().error.code).toBe('PK_ERR_INTERNAL');
      expect(failed.body).not.toContain(tokenFor(0xccc));
    } finally {
      h.push.accept = original;
    }

    expect(allLogLines.length).toBeGreaterThan(20);
    expect(allLogLines.some((line) => line.includes('unexpected error'))).toBe(true);
    const forbidden = [
      /[0-9a-fA-F]{64}/,
      /eyJ[A-Za-z0-9_-]{4,}/,
      /-----BEGIN/,
      /pk_(server|pub|admin)_/,
      /webhook-secret-value/,
    ];
    for (const line of allLogLines) {
      for (const pattern of forbidden) expect(line, `log line matches ${pattern}`).not.toMatch(pattern);
    }
  });
});
