/**
 * Owner-only files for the embedded database: it holds device tokens, aliases and payloads. The
 * file is created here with mode 0600 before SQLite opens it, because SQLite gives its -wal and
 * -shm files the database file's own permissions (its unix VFS, `findCreateFileMode` and the shm
 * open), which would otherwise be 0644 under the usual umask. A directory made for it is 0700.
 *
 * Files restored from a backup with looser modes are tightened. An existing directory is left as it
 * is: it may be shared (a database under /tmp), and changing a directory Pushkeeper did not create
 * could break other software; docs/security.md says so.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export const DATABASE_FILE_MODE = 0o600;
export const DATA_DIRECTORY_MODE = 0o700;

const SQLITE_SIDE_FILES = ['-wal', '-shm', '-journal'];

export function prepareDatabaseFiles(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: DATA_DIRECTORY_MODE });
  closeSync(openSync(path, 'a', DATABASE_FILE_MODE));
  for (const file of [path, ...SQLITE_SIDE_FILES.map((suffix) => path + suffix)]) ownerOnly(file);
}

function ownerOnly(file: string): void {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((mode & 0o077) !== 0) chmodSync(file, DATABASE_FILE_MODE);
}
