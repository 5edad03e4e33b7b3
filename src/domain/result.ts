/**
 * Rejections are values (ARCHITECTURE.md, principle 1): pure functions return a Result instead of
 * throwing, so callers must look at the failure and the type checker makes sure they do.
 */
import type { ErrorCode } from '../errors.ts';

export interface Problem {
  readonly code: ErrorCode;
  /** A human sentence; never parsed by code. Tests assert `code` and `reason`, not this. */
  readonly message: string;
  /** A short machine-readable refinement of the code, e.g. `odd-length` for a token. */
  readonly reason?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type Result<T, E = Problem> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function fail<E = Problem>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}

export function problem(
  code: ErrorCode,
  message: string,
  reason?: string,
  details?: Readonly<Record<string, unknown>>,
): Problem {
  return {
    code,
    message,
    ...(reason === undefined ? {} : { reason }),
    ...(details === undefined ? {} : { details }),
  };
}
