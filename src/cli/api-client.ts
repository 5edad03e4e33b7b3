/**
 * The HTTP client the CLI's client commands use to talk to a running Pushkeeper server. Errors
 * keep the server's catalogue code so commands can pick exit codes; a server that cannot be
 * reached is `ApiUnavailableError` (exit 3).
 */
import type { Readable } from 'node:stream';

export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details: unknown;
}

/** The server answered with an error body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** The server's message as it came, without the code. */
  readonly bodyMessage: string;

  constructor(status: number, body: ApiErrorBody) {
    super(`${body.message} (${body.code})`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.details = body.details;
    this.bodyMessage = body.message;
  }
}

/** Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND …) is in its cause. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time';
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** No answer: connection refused, DNS, timeout. */
export class ApiUnavailableError extends Error {
  readonly url: string;

  constructor(url: string, cause: unknown) {
    super(
      `Cannot reach the Pushkeeper server at ${url} (${networkReason(cause)}). Is \`pushkeeper serve\` running? ` +
        'Point the CLI at it with --url or PUSHKEEPER_URL (serve logs the address it listens on).',
      { cause },
    );
    this.name = 'ApiUnavailableError';
    this.url = url;
  }
}

/** Something answered, but not with Pushkeeper's JSON: --url points at another server. */
export class NotPushkeeperError extends Error {
  readonly details: { readonly url: string; readonly status: number; readonly contentType: string | null };

  constructor(url: string, status: number, contentType: string | null) {
    super(
      `The server at ${url} answered HTTP ${status} (${contentType ?? 'no content type'}), not as Pushkeeper does: ` +
        'check --url or PUSHKEEPER_URL (the address `pushkeeper serve` logs when it starts).',
    );
    this.name = 'NotPushkeeperError';
    this.details = { url, status, contentType };
  }
}

/** A server URL the CLI can use: http(s) with a host, else null. */
export function parseServerUrl(value: string): URL | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? url : null;
}

export interface ApiClientOptions {
  readonly baseUrl: string;
  readonly key?: string | undefined;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export interface ApiRequest {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  /** A raw streamed body (NDJSON import); sent as is with `contentType`. */
  readonly stream?: Readable;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ApiResponse<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export class ApiClient {
  readonly baseUrl: string;
  readonly #key: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#key = options.key;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? fetch;
  }

  url(path: string, query?: ApiRequest['query']): string {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  async request<T>(method: string, path: string, request: ApiRequest = {}): Promise<ApiResponse<T>> {
    const url = this.url(path, request.query);
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (this.#key !== undefined) headers['authorization'] = `Bearer ${this.#key}`;
    let body: string | Readable | undefined;
    if (request.stream !== undefined) {
      body = request.stream;
      headers['content-type'] = request.contentType ?? 'application/octet-stream';
    } else if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers['content-type'] = 'application/json';
    }
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        // A stream body needs half-duplex (Node's fetch); imports may take long, so no timeout then.
        ...(body === undefined ? {} : { body: body as RequestInit['body'] }),
        ...(request.stream !== undefined
          ? { duplex: 'half' }
          : { signal: AbortSignal.timeout(this.#timeoutMs) }),
      } as RequestInit);
    } catch (error) {
      throw new ApiUnavailableError(this.baseUrl, error);
    }
    const text = await response.text();
    let parsed: unknown = null;
    let json = text.length === 0;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
        json = true;
      } catch {
        parsed = text;
      }
    }
    const contentType = response.headers.get('content-type');
    // Every Pushkeeper answer with a body is JSON, and every error carries {"error": {"code"}}:
    // anything else came from another server (a web page, a proxy's error page).
    const error = (parsed as { error?: Partial<ApiErrorBody> } | null)?.error;
    const pushkeeperError = json && typeof error?.code === 'string' && typeof error.message === 'string';
    if (!json || (!response.ok && !pushkeeperError)) {
      throw new NotPushkeeperError(this.baseUrl, response.status, contentType);
    }
    if (!response.ok) {
      throw new ApiError(response.status, error as ApiErrorBody);
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  async get<T>(path: string, query?: ApiRequest['query']): Promise<T> {
    return (await this.request<T>('GET', path, query === undefined ? {} : { query })).body;
  }

  /** Every item of a cursor-paginated list, page by page. */
  async *pages<T>(path: string, query: ApiRequest['query'] = {}, limit = 1000): AsyncGenerator<T[]> {
    let cursor: string | null = null;
    do {
      const page: { items: T[]; nextCursor: string | null } = await this.get(path, {
        ...query,
        limit,
        ...(cursor === null ? {} : { cursor }),
      });
      yield page.items;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
}
