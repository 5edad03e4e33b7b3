/**
 * API keys: only a SHA-256 of the secret is stored (the caller generates the secret and shows it
 * once). Keys are high-entropy random strings, so a plain hash — not a slow password hash — is
 * the right tool: lookups by hash are one indexed read per request.
 */
import type { Kysely, Selectable } from 'kysely';
import { fail, ok, problem, type Result } from '../domain/index.ts';
import type { ApiKey, ApiKeyScope, ApiKeyStore, CreateApiKeyInput } from './contract.ts';
import { appExists, appNotFound } from './app-exists.ts';
import { newId } from './ids.ts';
import { toDate, toDateOrNull, toMs } from './rows.ts';
import type { ApiKeysTable, Database } from './schema.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const SCOPES: readonly ApiKeyScope[] = ['admin', 'server', 'publishable'];

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id,
    appId: row.app_id,
    scope: row.scope as ApiKeyScope,
    prefix: row.prefix,
    createdAt: toDate(row.created_at),
    lastUsedAt: toDateOrNull(row.last_used_at),
    revokedAt: toDateOrNull(row.revoked_at),
  };
}

export class SqlApiKeyStore implements ApiKeyStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async create(input: CreateApiKeyInput, at: Date = new Date()): Promise<Result<ApiKey>> {
    if (!SCOPES.includes(input.scope) || (input.scope === 'admin') !== (input.appId === null)) {
      return fail(
        problem('PK_ERR_VALIDATION', 'Admin keys have no app; app keys are server or publishable.', 'scope'),
      );
    }
    if (!SHA256_HEX.test(input.sha256)) {
      return fail(problem('PK_ERR_VALIDATION', 'The key hash must be 64 lower-case hex digits.', 'hash'));
    }
    if (typeof input.prefix !== 'string' || input.prefix.length === 0 || input.prefix.length > 32) {
      return fail(problem('PK_ERR_VALIDATION', 'The key prefix must be 1-32 characters.', 'prefix'));
    }
    return this.#db.transaction().execute(async (trx) => {
      if (input.appId !== null && !(await appExists(trx, input.appId))) return appNotFound();
      const row = await trx
        .insertInto('api_keys')
        .values({
          id: input.id ?? newId('key', at),
          app_id: input.appId,
          scope: input.scope,
          prefix: input.prefix,
          sha256: input.sha256,
          created_at: toMs(at),
          last_used_at: null,
          revoked_at: null,
        })
        .onConflict((conflict) => conflict.doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) return fail(problem('PK_ERR_CONFLICT', 'A key with this id or hash exists.', 'key-exists'));
      return ok(toApiKey(row));
    });
  }

  async findByHash(sha256: string): Promise<ApiKey | null> {
    const row = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    return row ? toApiKey(row) : null;
  }

  async list(appId: string | null): Promise<readonly ApiKey[]> {
    const rows = await this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('app_id', appId === null ? 'is' : '=', appId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toApiKey);
  }

  async revoke(appId: string | null, keyId: string, at: Date = new Date()): Promise<boolean> {
    const result = await this.#db
      .updateTable('api_keys')
      .set({ revoked_at: toMs(at) })
      .where('id', '=', keyId)
      .where('app_id', appId === null ? 'is' : '=', appId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touch(keyId: string, at: Date = new Date(), granularityMs = 60_000): Promise<void> {
    const atMs = toMs(at);
    // The WHERE makes most calls a read that matches nothing: no write, no WAL growth, no row lock.
    await this.#db
      .updateTable('api_keys')
      .set({ last_used_at: atMs })
      .where('id', '=', keyId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', atMs - granularityMs)]))
      .execute();
  }
}
