/**
 * The data directory is checked once at start, before anything is written there: a directory that
 * cannot be created or written fails with PK_ERR_DATA_DIR_UNWRITABLE naming the absolute path and
 * PUSHKEEPER_DATA_DIR — rather than SQLite's "unable to open database file" or a raw EACCES later.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Config } from '../config/index.ts';
import { PushkeeperError } from '../errors.ts';
import { sqlitePathFromUrl } from '../store/index.ts';

function check(directory: string, what: string): void {
  const path = resolve(directory);
  try {
    mkdirSync(path, { recursive: true });
    accessSync(path, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new PushkeeperError(
      'PK_ERR_DATA_DIR_UNWRITABLE',
      `Cannot write ${what} ${path} (${code}). Give the user running Pushkeeper write access to it, ` +
        'or point PUSHKEEPER_DATA_DIR (--data-dir) at a directory it may write.',
      { path, code },
    );
  }
}

/** Checks every directory this configuration will write: the data dir, and the SQLite file's. */
export function ensureWritableDirectories(config: Config): void {
  const secretsGenerated = config.adminToken === undefined || config.secretKey === undefined;
  const sqlitePath = sqlitePathFromUrl(config.databaseUrl);
  if (secretsGenerated) check(config.dataDir, 'the data directory');
  if (sqlitePath !== null && sqlitePath !== ':memory:') check(dirname(sqlitePath), 'the database directory');
}
