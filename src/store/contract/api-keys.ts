/** Store contract: aPI keys (see ../contract.ts for the conventions). */
import type { Result } from '../../domain/index.ts';

export type ApiKeyScope = 'admin' | 'server' | 'publishable';

export interface ApiKey {
  readonly id: string;
  /** null for admin keys. */
  readonly appId: string | null;
  readonly scope: ApiKeyScope;
  /** The first characters of the secret (`pk_server_ab12`), to recognise a key in a list. */
  readonly prefix: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

export interface CreateApiKeyInput {
  /** Generated (`key_…`) when absent. */
  readonly id?: string;
  /** null only with scope `admin`. */
  readonly appId: string | null;
  readonly scope: ApiKeyScope;
  readonly prefix: string;
  /** Lower-case hex SHA-256 of the whole secret; the caller generates the secret and hashes it. */
  readonly sha256: string;
}

export interface ApiKeyStore {
  create(input: CreateApiKeyInput, at?: Date): Promise<Result<ApiKey>>;
  /** For authentication; revoked keys are returned too (the caller checks `revokedAt`). */
  findByHash(sha256: string): Promise<ApiKey | null>;
  /** Keys of one app (admin keys with appId null). */
  list(appId: string | null): Promise<readonly ApiKey[]>;
  revoke(appId: string | null, keyId: string, at?: Date): Promise<boolean>;
  /** Cheap: writes only when the stored value is older than `granularityMs` (default 60 s). */
  touch(keyId: string, at?: Date, granularityMs?: number): Promise<void>;
}
