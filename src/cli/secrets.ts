/**
 * First-start secrets (docs/configuration.md): when PUSHKEEPER_ADMIN_TOKEN or
 * PUSHKEEPER_SECRET_KEY is unset, generate 256 bits from the CSPRNG, write them to the data
 * directory with mode 0600 and report the file's path — never the secret itself.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PushkeeperError } from '../errors.ts';

export const ADMIN_TOKEN_PREFIX = 'pk_admin_';

export interface ResolvedSecret {
  readonly value: string;
  /** Set when the secret lives in (or was just written to) a file. */
  readonly path?: string;
  readonly generated: boolean;
}

function readOrCreate(path: string, make: () => string): ResolvedSecret {
  try {
    const value = readFileSync(path, 'utf8').trim();
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) chmodSync(path, 0o600); // tighten a copy restored with loose permissions
    if (value.length === 0) throw new PushkeeperError('PK_ERR_CONFIG_INVALID', `${path} is empty.`);
    return { value, path, generated: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = make();
  // 'wx' fails if two processes race to create it; the loser reads the winner's file.
  try {
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readOrCreate(path, make);
    throw error;
  }
  return { value, path, generated: true };
}

export function resolveAdminToken(dataDir: string, configured: string | undefined): ResolvedSecret {
  if (configured !== undefined) return { value: configured, generated: false };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 }); // owner only, like the files in it
  return readOrCreate(join(dataDir, 'admin-token'), () => ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url'));
}

/** The 32-byte AES-256-GCM key that encrypts credentials at rest. */
export function resolveSecretKey(dataDir: string, configured: string | undefined): { key: Buffer; secret: ResolvedSecret } {
  let secret: ResolvedSecret;
  if (configured !== undefined) secret = { value: configured, generated: false };
  else {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 }); // owner only, like the files in it
    secret = readOrCreate(join(dataDir, 'secret-key'), () => randomBytes(32).toString('hex'));
  }
  const key = /^[0-9a-fA-F]{64}$/.test(secret.value) ? Buffer.from(secret.value, 'hex') : Buffer.from(secret.value, 'base64url');
  if (key.length !== 32) {
    throw new PushkeeperError('PK_ERR_CONFIG_INVALID', 'PUSHKEEPER_SECRET_KEY must be 32 bytes (64 hex digits or base64).');
  }
  return { key, secret };
}
