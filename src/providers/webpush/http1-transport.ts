/**
 * HTTP/1.1 with keep-alive (node:https Agent) for push services that do not negotiate h2 (autopush
 * and WNS document HTTP/1.1 only). A bounded socket pool per origin: `maxSockets` connections, each
 * reused for request after request (a fresh TLS connection per message more than doubles a sender's
 * CPU per send). Redirects are never followed: the endpoint is untrusted text (a 3xx is an answer).
 */
import https from 'node:https';
import {
  RESPONSE_BODY_CAP,
  TransportFailure,
  type PushRequest,
  type PushResponse,
  type PushTransport,
  type TransportOptions,
} from './transport.ts';

export class Http1Transport implements PushTransport {
  readonly protocol = 'http/1.1' as const;
  readonly #agent: https.Agent;
  readonly #url: URL;
  readonly #options: TransportOptions;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#url = new URL(options.origin);
    this.#agent = new https.Agent({
      ...options.tls,
      keepAlive: true,
      maxSockets: options.maxConnections,
      maxFreeSockets: options.maxConnections,
      scheduling: 'lifo',
    });
  }

  send(request: PushRequest): Promise<PushResponse> {
    if (this.#closed)
      return Promise.reject(
        new TransportFailure('PK_ERR_WEBPUSH_CLIENT_CLOSED', 'The transport is closed.', false),
      );
    const promise = this.#send(request);
    this.#inFlight.add(promise);
    void promise.then(
      () => this.#inFlight.delete(promise),
      () => this.#inFlight.delete(promise),
    );
    return promise;
  }

  #send(request: PushRequest): Promise<PushResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { 'content-length': request.body.length };
      for (const [name, value] of request.headers) headers[name] = value;
      let written = false;
      const req = https.request({
        agent: this.#agent,
        protocol: 'https:',
        hostname: this.#url.hostname.startsWith('[') ? this.#url.hostname.slice(1, -1) : this.#url.hostname,
        port: this.#url.port === '' ? 443 : Number(this.#url.port),
        method: 'POST',
        path: request.path,
        headers,
        timeout: this.#options.requestTimeoutMs,
      });
      req.on('finish', () => {
        written = true;
      });
      req.on('timeout', () => {
        req.destroy(
          new TransportFailure('PK_ERR_WEBPUSH_TIMEOUT', 'The push service did not answer in time.', true),
        );
      });
      req.on('error', (error) => {
        if (error instanceof TransportFailure) reject(error);
        else {
          // Refused or reset before our request was complete: not acted on. After: may have been.
          reject(
            new TransportFailure(
              'PK_ERR_WEBPUSH_CONNECTION',
              `The push service connection failed: ${error.message}`,
              written,
              { cause: error },
            ),
          );
        }
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < RESPONSE_BODY_CAP) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).subarray(0, RESPONSE_BODY_CAP).toString('utf8');
          const rawHeaders = res.headers;
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            header: (name) => {
              const value = rawHeaders[name];
              return Array.isArray(value) ? value.join(', ') : value;
            },
          });
        });
        res.on('error', (error) => {
          reject(
            new TransportFailure(
              'PK_ERR_WEBPUSH_CONNECTION',
              `The answer broke off: ${error.message}`,
              true,
              { cause: error },
            ),
          );
        });
      });
      req.end(request.body);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    this.#agent.destroy();
  }

  destroy(): void {
    this.#closed = true;
    this.#agent.destroy();
  }
}
