/**
 * Keyset cursors: the position after the last row handed out. `CursorSealer` makes the ones API
 * clients see (sealed, bound to their app and list); `encodeCursor`/`decodeCursor` are the plain
 * base64url JSON form for internal checkpoints that never leave the server (audience streams).
 * A cursor that does not open or decode to the expected shape is PK_ERR_CURSOR_INVALID.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
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
  return fieldsOf(value, shape);
}

function fieldsOf<K extends string>(
  value: unknown,
  shape: Readonly<Record<K, 'int' | 'string'>>,
): Result<Record<K, number | string>> {
  if (typeof value !== 'object' || value === null) return invalidCursor('bad-field');
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

/**
 * Cursors handed to API clients: the same fields, sealed. AES-256-GCM (NIST SP 800-38D) under a key
 * derived from the server secret with HKDF (RFC 5869), with the list's kind and its scope (the app
 * id, and the notification id for failures) as associated data. So a cursor
 * - reveals nothing: no row id, no database-wide counter, hence nothing of other tenants' volume
 *   (the plaintext is padded to a fixed size, so not even the number of digits shows);
 * - is refused anywhere but on the list and app it came from, and when forged or altered;
 * - is read by every API process sharing the secret key (PostgreSQL deployments), and becomes
 *   invalid (PK_ERR_CURSOR_INVALID; start the walk again) when that key changes.
 */
export class CursorSealer {
  readonly #key: Buffer;

  constructor(secretKey: Uint8Array) {
    this.#key = Buffer.from(hkdfSync('sha256', secretKey, CURSOR_SALT, CURSOR_INFO, 32));
  }

  seal(kind: string, scope: string, fields: CursorFields): string {
    const json = Buffer.from(JSON.stringify(fields), 'utf8');
    // JSON.parse ignores trailing spaces: pad to the next multiple of PADDING bytes.
    const plain = Buffer.alloc(Math.ceil((json.length + 1) / PADDING) * PADDING, 0x20);
    json.copy(plain);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(kind, scope));
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([VERSION, iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  /** Like decodeCursor, for a cursor this sealer made for the same kind and scope. */
  open<K extends string>(
    kind: string,
    scope: string,
    cursor: string | null | undefined,
    shape: Readonly<Record<K, 'int' | 'string'>>,
  ): Result<Record<K, number | string> | null> {
    if (cursor === null || cursor === undefined || cursor === '') return ok(null);
    if (typeof cursor !== 'string' || cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
      return invalidCursor('not-base64url');
    }
    const bytes = Buffer.from(cursor, 'base64url');
    if (bytes.length < VERSION.length + IV_BYTES + PADDING + TAG_BYTES || bytes[0] !== VERSION[0]) {
      return invalidCursor('not-ours');
    }
    let plain: Buffer;
    try {
      const iv = bytes.subarray(VERSION.length, VERSION.length + IV_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(kind, scope));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      plain = Buffer.concat([
        decipher.update(bytes.subarray(VERSION.length + IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      // Forged, altered, from another app or list, or sealed under another secret key.
      return invalidCursor('not-ours');
    }
    let value: unknown;
    try {
      value = JSON.parse(plain.toString('utf8'));
    } catch {
      return invalidCursor('not-json');
    }
    return fieldsOf(value, shape);
  }
}

const VERSION = Buffer.from([1]);
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PADDING = 32;
const CURSOR_SALT = 'pushkeeper';
const CURSOR_INFO = 'pagination cursors v1';

function associatedData(kind: string, scope: string): Buffer {
  return Buffer.from(`${kind}\u0000${scope}`, 'utf8');
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
