/**
 * Opaque keyset cursors: base64url JSON of the position after the last row handed out. Clients
 * must not build them; a cursor that does not decode to the expected shape is PK_ERR_CURSOR_INVALID.
 */
import { fail, ok, problem, type Result } from '../domain/index.ts';

export type CursorFields = Readonly<Record<string, number | string>>;

export function encodeCursor(kind: string, fields: CursorFields): string {
  return Buffer.from(JSON.stringify({ k: kind, ...fields }), 'utf8').toString('base64url');
}

function invalidCursor(reason: string): Result<never> {
  return fail(problem('PK_ERR_CURSOR_INVALID', 'The pagination cursor is not valid.', reason));
}

/**
 * Decodes a cursor of `kind` whose fields match `shape` (`'int'` = a non-negative safe integer,
 * `'string'` = any string). `null`/`undefined`/'' mean "from the start" and decode to null.
 */
export function decodeCursor<K extends string>(
  kind: string,
  cursor: string | null | undefined,
  shape: Readonly<Record<K, 'int' | 'string'>>,
): Result<Record<K, number | string> | null> {
  if (cursor === null || cursor === undefined || cursor === '') return ok(null);
  if (typeof cursor !== 'string' || cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    return invalidCursor('not-base64url');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return invalidCursor('not-json');
  }
  if (typeof value !== 'object' || value === null || (value as { k?: unknown }).k !== kind) {
    return invalidCursor('wrong-kind');
  }
  const record = value as Record<string, unknown>;
  const out = {} as Record<K, number | string>;
  for (const [name, type] of Object.entries(shape) as [K, 'int' | 'string'][]) {
    const field = record[name];
    if (
      type === 'int' ? !(Number.isSafeInteger(field) && (field as number) >= 0) : typeof field !== 'string'
    ) {
      return invalidCursor('bad-field');
    }
    out[name] = field as number | string;
  }
  return ok(out);
}

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export function parseLimit(
  limit: number | undefined,
  max = MAX_PAGE_LIMIT,
  fallback = DEFAULT_PAGE_LIMIT,
): Result<number> {
  if (limit === undefined) return ok(fallback);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > max) {
    return fail(
      problem('PK_ERR_VALIDATION', `limit must be an integer from 1 to ${max}.`, 'limit-range', { max }),
    );
  }
  return ok(limit);
}
