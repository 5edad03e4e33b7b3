/**
 * The one error shape of the API: `{"error": {"code", "message", "details"}}` with the catalogue's
 * status (docs/errors.md). Routes return Result failures through `sendProblem`; anything
 * thrown reaches the app's error handler (error-handler.ts), which uses the same body.
 */
import type { FastifyReply } from 'fastify';
import type { Problem } from '../domain/index.ts';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.ts';

export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly details: Readonly<Record<string, unknown>> | null;
  };
}

export function errorBody(
  code: ErrorCode,
  message?: string,
  details?: Readonly<Record<string, unknown>> | null,
): ErrorBody {
  return { error: { code, message: message ?? ERROR_CATALOGUE[code].message, details: details ?? null } };
}

export function problemDetails(problem: Problem): Record<string, unknown> | null {
  const details: Record<string, unknown> = { ...problem.details };
  if (problem.reason !== undefined) details['reason'] = problem.reason;
  return Object.keys(details).length === 0 ? null : details;
}

/** Answers a Result failure with its catalogue status. */
export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return sendError(reply, problem.code, problem.message, problemDetails(problem));
}

export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message?: string,
  details?: Readonly<Record<string, unknown>> | null,
): FastifyReply {
  const status = ERROR_CATALOGUE[code].status;
  if (status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '5');
  // Route response schemas may not list every status; the error body is always plain JSON.
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .serializer((body: unknown) => JSON.stringify(body))
    .send(errorBody(code, message, details));
}
