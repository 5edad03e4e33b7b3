/**
 * The app's one error handler: every thrown error becomes `{"error": {...}}` with a catalogue code.
 * Fastify's own errors (validation, body size, content type, JSON syntax) are mapped to the
 * catalogue; anything unexpected is PK_ERR_INTERNAL with nothing of its message sent back.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isPushkeeperError } from '../errors.ts';
import { scrubSecrets } from './log-scrub.ts';
import { NDJSON_TYPES } from './routes/device-import.ts';
import { sendError } from './problem-reply.ts';

/** Names what was sent and what is accepted, so the fix is in the answer. */
function unsupportedContentType(request: FastifyRequest, reply: FastifyReply) {
  const given = request.headers['content-type'] ?? '(none)';
  const accepted = ['application/json', ...NDJSON_TYPES.map((type) => `${type} (device imports)`)];
  return sendError(
    reply,
    'PK_ERR_VALIDATION',
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

export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isPushkeeperError(error)) {
    if (error.status >= 500) {
      request.log.warn(
        { code: error.code, err: scrubSecrets(String(error.stack ?? error.message)) },
        'request failed',
      );
    }
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
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(reply, 'PK_ERR_BODY_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedContentType(request, reply);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendError(reply, 'PK_ERR_VALIDATION', 'The JSON body is empty.', { reason: 'empty-body' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return sendError(reply, 'PK_ERR_VALIDATION', 'The body is not valid JSON.', { reason: 'invalid-json' });
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return sendError(reply, 'PK_ERR_VALIDATION', 'The request is not valid.', { reason: 'bad-request' });
  }
  if (error.statusCode === 413) return sendError(reply, 'PK_ERR_BODY_TOO_LARGE');
  if (error.statusCode === 415) return unsupportedContentType(request, reply);
  request.log.error({ err: scrubSecrets(String(error.stack ?? error.message)) }, 'unexpected error');
  return sendError(reply, 'PK_ERR_INTERNAL');
}
