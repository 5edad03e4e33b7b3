/** A bare node:http2 client for driving the mock in tests: no APNs logic of its own. */
import http2 from 'node:http2';
import tls from 'node:tls';

export interface PushAnswer {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly body: { reason?: string; timestamp?: number } | undefined;
  readonly rawBody: string;
}

export interface ConnectOptions {
  readonly ca: string;
  readonly cert?: { certPem: string; keyPem: string };
  /** Offer no ALPN at all (HTTP/2 prior knowledge). */
  readonly priorKnowledge?: boolean;
}

export function connect(url: string, options: ConnectOptions): http2.ClientHttp2Session {
  const { port, hostname } = new URL(url);
  const session = http2.connect(url, {
    createConnection: () => {
      const socket = tls.connect({
        host: hostname,
        port: Number(port),
        ca: options.ca,
        servername: 'localhost',
        ...(options.priorKnowledge ? {} : { ALPNProtocols: ['h2'] }),
        ...(options.cert === undefined ? {} : { cert: options.cert.certPem, key: options.cert.keyPem }),
      });
      // Tests cut connections on purpose (mock.destroy()); a reset that reaches the socket after its
      // session has closed must not surface as an unhandled error of the test run.
      socket.on('error', () => {});
      return socket;
    },
  });
  session.on('error', () => {});
  return session;
}

export interface PushInput {
  readonly path?: string;
  readonly token?: string;
  readonly method?: string;
  /** Header values; an array sends the header several times. */
  readonly headers?: Record<string, string | string[] | undefined>;
  readonly body?: string | Buffer;
}

export function push(session: http2.ClientHttp2Session, input: PushInput): Promise<PushAnswer> {
  return new Promise((resolve, reject) => {
    const headers: http2.OutgoingHttpHeaders = {
      ':method': input.method ?? 'POST',
      ':path': input.path ?? `/3/device/${input.token ?? ''}`,
    };
    for (const [name, value] of Object.entries(input.headers ?? {}))
      if (value !== undefined) headers[name] = value;
    const request = session.request(headers);
    let responseHeaders: http2.IncomingHttpHeaders | undefined;
    let rawBody = '';
    request.setEncoding('utf8');
    request.on('response', (h) => {
      responseHeaders = h;
    });
    request.on('data', (chunk: string) => {
      rawBody += chunk;
    });
    request.on('end', () => {
      if (responseHeaders === undefined) {
        reject(new Error('stream ended without a response'));
        return;
      }
      resolve({
        status: Number(responseHeaders[':status']),
        headers: responseHeaders,
        body: rawBody === '' ? undefined : JSON.parse(rawBody),
        rawBody,
      });
    });
    request.on('error', reject);
    const body = input.body ?? '{"aps":{"alert":"hello"}}';
    // GET and HEAD streams are opened half-closed by node; nothing may be written to them.
    if (body.length === 0 || headers[':method'] === 'GET' || headers[':method'] === 'HEAD') request.end();
    else request.end(body);
  });
}

export function closeSession(session: http2.ClientHttp2Session): Promise<void> {
  if (session.closed || session.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      session.destroy();
      resolve();
    }, 1000);
    session.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
