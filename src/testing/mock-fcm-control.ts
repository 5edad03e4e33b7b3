/**
 * A small JSON-over-HTTP API to drive a running mock FCM server from any language:
 *
 *   POST /devices            {token, state?: live|unregistered|mismatched|third-party-auth-error} → 201
 *   DELETE /devices/:token   the app was uninstalled: UNREGISTERED from now on                   → 204
 *   PUT  /faults             MockFcmFaults JSON, or {"flags": ["status=429:QUOTA_EXCEEDED:1:5000"]} → 204
 *   POST /revoke-tokens      every access token issued so far stops working                      → 204
 *   GET  /messages           accepted messages                                                   → 200
 *   GET  /rejections         rejections                                                          → 200
 *   GET  /stats              counters (tokens issued, max concurrent streams, errors by code)    → 200
 *   POST /reset              forget records                                                      → 204
 *
 * Errors are `{"error": "…"}` with 400, 404 or 413.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseFcmFaultFlags } from './mock-fcm-faults.ts';
import type { MockFcmDeviceState, MockFcmFaults, MockFcmServer } from './mock-fcm-types.ts';

export interface MockFcmControlApi {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const STATES: readonly MockFcmDeviceState[] = [
  'live',
  'unregistered',
  'mismatched',
  'third-party-auth-error',
];

class Refusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function readJson(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new Refusal(413, 'Body over 1 MiB.');
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Refusal(400, 'The body is not JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Refusal(400, 'The body must be a JSON object.');
  return value as Record<string, unknown>;
}

export async function startMockFcmControlApi(
  mock: MockFcmServer,
  options: { readonly host?: string; readonly port?: number } = {},
): Promise<MockFcmControlApi> {
  const route = async (request: http.IncomingMessage): Promise<{ status: number; body?: unknown }> => {
    const url = new URL(request.url ?? '/', 'http://control');
    const method = request.method ?? 'GET';
    const path = url.pathname;
    if (method === 'POST' && path === '/devices') {
      const body = await readJson(request);
      const token = body['token'];
      const state = body['state'] ?? 'live';
      if (typeof token !== 'string' || token === '')
        throw new Refusal(400, '"token" must be a non-empty string.');
      if (!STATES.includes(state as MockFcmDeviceState))
        throw new Refusal(400, `"state" must be one of ${STATES.join(', ')}.`);
      mock.registerDevice(token, state as MockFcmDeviceState);
      return { status: 201 };
    }
    const device = /^\/devices\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && device !== null) {
      mock.unregisterDevice(decodeURIComponent(device[1]!));
      return { status: 204 };
    }
    if (method === 'PUT' && path === '/faults') {
      const body = await readJson(request);
      if (Array.isArray(body['flags'])) {
        const parsed = parseFcmFaultFlags(body['flags'].map(String), Date.now());
        if (!parsed.ok) throw new Refusal(400, parsed.error.message);
        mock.setFaults(parsed.value);
      } else mock.setFaults(body as MockFcmFaults);
      return { status: 204 };
    }
    if (method === 'POST' && path === '/revoke-tokens') {
      mock.revokeAccessTokens();
      return { status: 204 };
    }
    if (method === 'GET' && path === '/messages') return { status: 200, body: mock.accepted };
    if (method === 'GET' && path === '/rejections') return { status: 200, body: mock.rejections };
    if (method === 'GET' && path === '/stats') return { status: 200, body: mock.stats };
    if (method === 'POST' && path === '/reset') {
      mock.resetRecords();
      return { status: 204 };
    }
    throw new Refusal(404, `No route ${method} ${path}.`);
  };
  const server = http.createServer((request, response) => {
    route(request).then(
      ({ status, body }) => {
        if (body === undefined) response.writeHead(status).end();
        else response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      },
      (error: unknown) => {
        const status = error instanceof Refusal ? error.status : 500;
        response
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
