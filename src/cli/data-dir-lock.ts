/**
 * One writer per SQLite database: the embedded queue and store assume they are the only process
 * working the file, so a second `serve` or `worker` on the same data must not start.
 *
 * The lock is an SQLite exclusive lock on a small lock database beside the data (`pushkeeper.lock`),
 * held for the life of the process. SQLite's locks are POSIX advisory locks (fcntl, SQLite "File
 * Locking And Concurrency In SQLite Version 3" §3), which the kernel releases when the process dies
 * however it dies: a lock left by a killed process cannot block the next start, with no pid
 * liveness guess (a pid file can name a pid the system has since given to another process). The
 * holder's pid and start time are written to `pushkeeper.lock.pid` for the message a second process
 * prints. (The data file itself cannot be locked this way: the store and the queue each open it.)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { PushkeeperError } from '../errors.ts';

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

function holder(pidPath: string): string {
  try {
    const info = JSON.parse(readFileSync(pidPath, 'utf8')) as { pid?: number; startedAt?: string };
    return `pid ${info.pid ?? '?'}, started ${info.startedAt ?? '?'}`;
  } catch {
    return 'pid unknown';
  }
}

/** Takes the directory's lock or throws PK_ERR_DATA_DIR_IN_USE naming the directory and the holder. */
export function lockDataDir(directory: string): DataDirLock {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const path = join(directory, 'pushkeeper.lock');
  const pidPath = `${path}.pid`;
  const db = new DatabaseSync(path, { timeout: 0 });
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch {
    db.close();
    throw new PushkeeperError(
      'PK_ERR_DATA_DIR_IN_USE',
      `Another Pushkeeper process (${holder(pidPath)}) is using the SQLite data in ${directory}. Stop it first; to run several processes, use PostgreSQL.`,
      { directory },
    );
  }
  writeFileSync(pidPath, `${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })}\n`, { mode: 0o600 });
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}
