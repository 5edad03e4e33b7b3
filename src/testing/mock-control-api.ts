/**
 * A small JSON-over-HTTP API to drive a running mock from any language (the CLI starts it):
 *
 *   POST   /devices              {token, topic, environment?}            → 201
 *   DELETE /devices/:token?timestamp=MS&reason=Unregistered|ExpiredToken → 204 (unregister)
 *   POST   /keys                 {teamId, keyId, publicKeyPem, topics?, environments?} → 201
 *   PUT    /faults               MockFaults JSON (replaces the script)   → 204
 *   GET    /notifications        accepted notifications                  → 200
 *   GET    /rejections           rejections                              → 200
 *   GET    /stats                counters                                → 200
 *   POST   /reset                forget records                          → 204
 *   POST   /feedback             {tuples: [{token, timestampSeconds}]}   → 202 (when a feedback mock runs)
 *
 * Errors are `{"error": "…"}` with 400 (bad input), 404 (no such route) or 413 (body over 1 MiB).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MockApnsServer, MockFaults, RecordedNotification } from './mock-apns-types.ts';
import type { MockFeedbackServer, MockFeedbackTuple } from './mock-feedback-server.ts';

export interface MockControlApi {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface MockControlApiOptions {
  readonly host?: string;
  readonly port?: number;
  readonly feedback?: MockFeedbackServer;
}

const MAX_BODY_BYTES = 1024 * 1024;

class HttpFailure extends Error {
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
    if (size > MAX_BODY_BYTES) throw new HttpFailure(413, 'Body over 1 MiB.');
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpFailure(400, 'The body is not JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpFailure(400, 'The body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

function text(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '')
    throw new HttpFailure(400, `"${field}" must be a non-empty string.`);
  return value;
}

function environmentOf(value: unknown): 'production' | 'sandbox' | undefined {
  if (value === undefined) return undefined;
  if (value === 'production' || value === 'sandbox') return value;
  throw new HttpFailure(400, '"environment" must be "production" or "sandbox".');
}

/** Payloads are shown as JSON when they parse, else as base64, so the listing stays JSON. */
function notificationView(n: RecordedNotification): Record<string, unknown> {
  let payload: unknown;
  try {
    payload = JSON.parse(n.payload.toString('utf8'));
  } catch {
    payload = { base64: n.payload.toString('base64') };
  }
  const { payload: _bytes, headers, ...rest } = n;
  const { authorization: _secret, ...visibleHeaders } = headers;
  return { ...rest, headers: visibleHeaders, payload };
}

export async function startMockControlApi(
  mock: MockApnsServer,
  options: MockControlApiOptions = {},
): Promise<MockControlApi> {
  const route = async (request: http.IncomingMessage): Promise<{ status: number; body?: unknown }> => {
    const url = new URL(request.url ?? '/', 'http://control');
    const method = request.method ?? 'GET';
    const path = url.pathname;
    if (method === 'POST' && path === '/devices') {
      const body = await readJson(request);
      const environment = environmentOf(body['environment']);
      try {
        mock.registerDevice(text(body, 'token'), {
          topic: text(body, 'topic'),
          ...(environment ? { environment } : {}),
        });
      } catch (error) {
        if (error instanceof HttpFailure) throw error;
        throw new HttpFailure(400, (error as Error).message);
      }
      return { status: 201 };
    }
    const device = /^\/devices\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && device !== null) {
      const timestamp = Number(url.searchParams.get('timestamp') ?? Date.now());
      const reason = url.searchParams.get('reason') ?? 'Unregistered';
      if (!Number.isSafeInteger(timestamp) || timestamp < 0)
        throw new HttpFailure(400, 'timestamp must be epoch ms.');
      if (reason !== 'Unregistered' && reason !== 'ExpiredToken') {
        throw new HttpFailure(400, 'reason must be Unregistered or ExpiredToken.');
      }
      try {
        mock.unregisterDevice(decodeURIComponent(device[1]!), timestamp, reason);
      } catch (error) {
        throw new HttpFailure(404, (error as Error).message);
      }
      return { status: 204 };
    }
    if (method === 'POST' && path === '/keys') {
      const body = await readJson(request);
      const topics = body['topics'];
      const environments = body['environments'];
      try {
        mock.addSigningKey({
          teamId: text(body, 'teamId'),
          keyId: text(body, 'keyId'),
          publicKeyPem: text(body, 'publicKeyPem'),
          ...(Array.isArray(topics) ? { topics: topics.map(String) } : {}),
          ...(Array.isArray(environments)
            ? { environments: environments.map((e) => environmentOf(e)!) }
            : {}),
        });
      } catch (error) {
        if (error instanceof HttpFailure) throw error;
        throw new HttpFailure(400, `Not a usable public key: ${(error as Error).message}`);
      }
      return { status: 201 };
    }
    if (method === 'PUT' && path === '/faults') {
      mock.setFaults((await readJson(request)) as MockFaults);
      return { status: 204 };
    }
    if (method === 'GET' && path === '/notifications')
      return { status: 200, body: mock.accepted.map(notificationView) };
    if (method === 'GET' && path === '/rejections') return { status: 200, body: mock.rejections };
    if (method === 'GET' && path === '/stats') {
      const stats = mock.stats;
      return {
        status: 200,
        body: {
          ...stats,
          acceptedCount: mock.acceptedCount,
          openConnections: mock.openConnections,
          maxConcurrencyByConnection: Object.fromEntries(stats.maxConcurrencyByConnection),
          advertisedLimitByConnection: Object.fromEntries(stats.advertisedLimitByConnection),
          distinctIats: [...stats.distinctIats],
        },
      };
    }
    if (method === 'POST' && path === '/reset') {
      mock.resetRecords();
      return { status: 204 };
    }
    if (method === 'POST' && path === '/feedback') {
      if (options.feedback === undefined) throw new HttpFailure(404, 'No feedback mock is running.');
      const tuples = (await readJson(request))['tuples'];
      if (!Array.isArray(tuples)) throw new HttpFailure(400, '"tuples" must be an array.');
      try {
        options.feedback.queue(tuples as MockFeedbackTuple[]);
      } catch (error) {
        throw new HttpFailure(400, (error as Error).message);
      }
      return { status: 202 };
    }
    throw new HttpFailure(404, `No route ${method} ${path}.`);
  };

  const server = http.createServer((request, response) => {
    route(request).then(
      ({ status, body }) => {
        if (body === undefined) response.writeHead(status).end();
        else response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      },
      (error: unknown) => {
        const status = error instanceof HttpFailure ? error.status : 500;
        const message = error instanceof Error ? error.message : String(error);
        response
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: message }));
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
