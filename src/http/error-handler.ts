/**
 * The app's one error handler: every thrown error becomes `{"error": {...}}` with a catalogue code.
 * Fastify's own errors (validation, body size, content type, JSON syntax, router and static-file
 * errors) are mapped to the catalogue by code and then by status; anything unexpected is
 * PK_ERR_INTERNAL with nothing of its message sent back.
 *
 * Three doors lead here: `handleError` (Fastify's error handler), `handleFrameworkError` (the
 * router's own failures, which happen before a route is found) and `handleClientError` (Node's
 * HTTP parser, which fails before Fastify sees a request at all).
 */
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, type ErrorCode, isPushkeeperError } from '../errors.ts';
import { scrubSecrets } from './log-scrub.ts';
import { errorBody, sendError } from './problem-reply.ts';
import { NDJSON_TYPES } from './routes/device-import.ts';

/** Names what was sent and what is accepted, so the fix is in the answer. */
function unsupportedContentType(request: FastifyRequest, reply: FastifyReply) {
  const given = request.headers['content-type'] ?? '(none)';
  const accepted = ['application/json', ...NDJSON_TYPES.map((type) => `${type} (device imports)`)];
  return sendError(
    reply,
    'PK_ERR_MEDIA_TYPE_UNSUPPORTED',
    `Unsupported Content-Type ${given}: send application/json (device imports: ${NDJSON_TYPES.join(', ')}).`,
    { reason: 'content-type', given, accepted },
  );
}

function validationIssues(error: FastifyError) {
  return (error.validation ?? []).map((issue) => ({
    path: issue.instancePath === '' ? '/' : issue.instancePath,
    keyword: issue.keyword,
    message: issue.message ?? 'invalid',
    params: issue.params,
  }));
}

/**
 * Failures of another host (the legacy feedback service an app names): the code says which step
 * failed; the socket's errno, address and phase stay in the log, or an API key would be a port
 * scanner (a refused port answers differently from a filtered one).
 */
const UPSTREAM_OPAQUE: ReadonlySet<ErrorCode> = new Set([
  'PK_ERR_FEEDBACK_CONNECT',
  'PK_ERR_FEEDBACK_TLS',
  'PK_ERR_FEEDBACK_TIMEOUT',
]);

interface Mapped {
  readonly code: ErrorCode;
  readonly message?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Fastify's FST_ERR_* codes a client can cause, each with its catalogue answer. */
const FASTIFY_CODES: Readonly<Record<string, Mapped>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PK_ERR_BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'PK_ERR_MEDIA_TYPE_UNSUPPORTED' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'PK_ERR_VALIDATION',
    message: 'The body does not match its Content-Length.',
    details: { reason: 'content-length-mismatch' },
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'PK_ERR_VALIDATION',
    message: 'The JSON body is empty.',
    details: { reason: 'empty-body' },
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: 'PK_ERR_VALIDATION',
    message: 'The body is not valid JSON.',
    details: { reason: 'invalid-json' },
  },
  FST_ERR_BAD_URL: {
    code: 'PK_ERR_VALIDATION',
    message: 'The URL is not valid percent-encoded UTF-8.',
    details: { reason: 'bad-url-encoding' },
  },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'PK_ERR_URI_TOO_LONG' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'PK_ERR_NOT_FOUND' },
};

/**
 * A 4xx of a plugin (the docs' static files answer 403 for a path outside their root and 400/404
 * for bad ones) by its status. A 403 there means "not one of our files", so it answers 404 as a
 * missing file would, revealing nothing about the file system.
 */
function byStatus(status: number): Mapped | undefined {
  switch (status) {
    case 400:
      return { code: 'PK_ERR_VALIDATION', message: 'The request is not valid.', details: { reason: 'bad-request' } };
    case 401:
      return { code: 'PK_ERR_UNAUTHENTICATED' };
    case 403:
    case 404:
    case 405:
      return { code: 'PK_ERR_NOT_FOUND' };
    case 408:
      return { code: 'PK_ERR_REQUEST_TIMEOUT' };
    case 413:
      return { code: 'PK_ERR_BODY_TOO_LARGE' };
    case 414:
      return { code: 'PK_ERR_URI_TOO_LONG' };
    case 415:
      return { code: 'PK_ERR_MEDIA_TYPE_UNSUPPORTED' };
    case 429:
      return { code: 'PK_ERR_RATE_LIMITED' };
    case 431:
      return { code: 'PK_ERR_HEADERS_TOO_LARGE' };
  }
  if (status >= 400 && status < 500) {
    return { code: 'PK_ERR_VALIDATION', message: 'The request is not valid.', details: { reason: 'bad-request' } };
  }
  return undefined;
}

/** What a non-catalogue error thrown while handling a request answers, or undefined for a 500. */
export function mapFrameworkError(error: FastifyError): Mapped | undefined {
  const known = error.code === undefined ? undefined : FASTIFY_CODES[error.code];
  if (known !== undefined) return known;
  // secure-json-parse refuses __proto__/constructor keys with a SyntaxError of its own.
  if (error instanceof SyntaxError) {
    return { code: 'PK_ERR_VALIDATION', message: 'The body is not valid JSON.', details: { reason: 'invalid-json' } };
  }
  return typeof error.statusCode === 'number' ? byStatus(error.statusCode) : undefined;
}

export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isPushkeeperError(error)) {
    if (error.status >= 500) {
      request.log.warn(
        { code: error.code, err: scrubSecrets(String(error.stack ?? error.message)) },
        'request failed',
      );
    }
    if (UPSTREAM_OPAQUE.has(error.code)) return sendError(reply, error.code);
    // Internal failures (500) keep their details in the log only; 502-504 details (which upstream
    // failed, retry hints) help the caller.
    return sendError(
      reply,
      error.code,
      error.status >= 500 ? undefined : error.message,
      error.status === 500 ? null : (error.details ?? null),
    );
  }
  if (error.validation) {
    return sendError(
      reply,
      'PK_ERR_VALIDATION',
      `The request ${error.validationContext ?? 'input'} is not valid.`,
      {
        in: error.validationContext ?? null,
        issues: validationIssues(error),
      },
    );
  }
  const mapped = mapFrameworkError(error);
  if (mapped !== undefined) {
    // A client's mistake, not ours: debug level, so probing cannot fill the error log.
    request.log.debug({ code: error.code, statusCode: error.statusCode }, 'request refused');
    if (mapped.code === 'PK_ERR_MEDIA_TYPE_UNSUPPORTED') return unsupportedContentType(request, reply);
    return sendError(reply, mapped.code, mapped.message, mapped.details ?? null);
  }
  request.log.error({ err: scrubSecrets(String(error.stack ?? error.message)) }, 'unexpected error');
  return sendError(reply, 'PK_ERR_INTERNAL');
}

/** Fastify's `frameworkErrors`: the router failed (bad percent-encoding, an over-long parameter). */
export function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void handleError(error, request, reply);
}

/**
 * Node's `clientError`: the request could not be parsed at all (RFC 9112 framing, header size) or
 * did not arrive within the request/headers timeout. Answered on the raw socket, which is then
 * closed: after a framing error nothing that follows on the connection can be trusted.
 */
export function createClientErrorHandler(logger: FastifyBaseLogger) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    let code: ErrorCode = 'PK_ERR_VALIDATION';
    let details: Record<string, unknown> | null = { reason: 'malformed-http' };
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      code = 'PK_ERR_REQUEST_TIMEOUT';
      details = null;
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      code = 'PK_ERR_HEADERS_TOO_LARGE';
      details = null;
    }
    logger.debug({ code, cause: error.code }, 'client error');
    if (socket.writable) {
      const body = JSON.stringify(errorBody(code, undefined, details));
      const status = ERROR_CATALOGUE[code].status;
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};
