/**
 * A JSON-over-HTTP API to drive a running mock push service from any language (the
 * `pushkeeper mock-webpush` command starts it):
 *
 *   POST   /subscriptions          {applicationServerKey?, withQuery?}   → 201 PushSubscription JSON
 *   PUT    /subscriptions/state    {endpoint, state: active|gone|expired} → 204
 *   GET    /messages               decrypted messages                     → 200
 *   GET    /rejections             refusals with status and reason       → 200
 *   GET    /stats                  counters                               → 200
 *   PUT    /faults                 MockWebPushFaults JSON (replaces)      → 204
 *   POST   /reset                  forget records and counters            → 204
 *
 * Errors are `{"error": "…"}` with 400, 404 or 413 (body over 1 MiB).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  MockSubscriptionState,
  MockWebPushFaults,
  MockWebPushServer,
  RecordedPushMessage,
} from './mock-webpush-types.ts';

export interface MockWebPushControl {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const STATES: readonly MockSubscriptionState[] = ['active', 'gone', 'expired'];

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
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpFailure(413, 'Body over 1 MiB.');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpFailure(400, 'The body is not JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HttpFailure(400, 'The body must be a JSON object.');
  return value as Record<string, unknown>;
}

/** Plaintext as UTF-8 text when it is valid UTF-8 (JSON parsed when it parses), else base64. */
function messageView(message: RecordedPushMessage): Record<string, unknown> {
  const text = message.plaintext.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(message.plaintext);
  let json: unknown;
  if (isText) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return {
    id: message.id,
    endpoint: message.endpoint,
    ...(json !== undefined ? { json } : isText ? { text } : { base64: message.plaintext.toString('base64') }),
    ttl: message.ttl,
    urgency: message.urgency,
    ...(message.topic === undefined ? {} : { topic: message.topic }),
    padding: message.padding,
    httpVersion: message.httpVersion,
    receivedAt: new Date(message.receivedAt).toISOString(),
  };
}

export async function startMockWebPushControl(
  mock: MockWebPushServer,
  options: { host?: string; port?: number } = {},
): Promise<MockWebPushControl> {
  const route = async (request: http.IncomingMessage): Promise<[number, unknown]> => {
    const path = new URL(request.url ?? '/', 'http://control').pathname;
    const key = `${request.method} ${path}`;
    switch (key) {
      case 'POST /subscriptions': {
        const body = await readJson(request);
        const applicationServerKey = body['applicationServerKey'];
        if (applicationServerKey !== undefined && typeof applicationServerKey !== 'string') {
          throw new HttpFailure(400, '"applicationServerKey" must be a base64url string.');
        }
        return [
          201,
          mock.mintSubscription({
            ...(applicationServerKey === undefined ? {} : { applicationServerKey }),
            withQuery: body['withQuery'] === true,
          }),
        ];
      }
      case 'PUT /subscriptions/state': {
        const body = await readJson(request);
        const state = body['state'] as MockSubscriptionState;
        if (typeof body['endpoint'] !== 'string' || !STATES.includes(state)) {
          throw new HttpFailure(
            400,
            '{"endpoint": "…", "state": "active" | "gone" | "expired"} is required.',
          );
        }
        try {
          mock.setSubscriptionState(body['endpoint'], state);
        } catch {
          throw new HttpFailure(404, 'No such subscription.');
        }
        return [204, undefined];
      }
      case 'GET /messages':
        return [200, mock.messages().map(messageView)];
      case 'GET /rejections':
        return [200, mock.rejections()];
      case 'GET /stats':
        return [200, mock.stats()];
      case 'PUT /faults':
        mock.setFaults((await readJson(request)) as MockWebPushFaults);
        return [204, undefined];
      case 'POST /reset':
        mock.reset();
        return [204, undefined];
      default:
        throw new HttpFailure(404, `No route ${key}.`);
    }
  };
  const server = http.createServer((request, response) => {
    route(request).then(
      ([status, body]) => {
        if (body === undefined) {
          response.writeHead(status).end();
          return;
        }
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      },
      (error: unknown) => {
        const status = error instanceof HttpFailure ? error.status : 500;
        response
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: (error as Error).message }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close() {
      closing ??= new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
