/**
 * The embedded database holds device tokens, aliases and payloads: its file and SQLite's -wal and
 * -shm files are readable by their owner only (0600), and a directory created for it is 0700. Files
 * restored with looser modes are tightened on open; an existing directory is left as it is (it may
 * be shared, /tmp for one), which docs/security.md states.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveAdminToken } from '../../src/cli/secrets.ts';
import { openStore } from '../../src/store/index.ts';

const modeOf = (path: string) => statSync(path).mode & 0o777;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pk-modes-'));
  dirs.push(dir);
  return dir;
}

async function openWriteClose(path: string): Promise<void> {
  const store = openStore({ url: `sqlite:${path}`, secretKey: randomBytes(32) });
  await store.migrate();
  await store.devices.register('app_missing', { token: 'ab'.repeat(32) }).catch(() => undefined);
  // While open, the -wal and -shm files exist: check them before close checkpoints them away.
  for (const suffix of ['-wal', '-shm']) {
    expect(existsSync(path + suffix), suffix).toBe(true);
    expect(modeOf(path + suffix).toString(8), suffix).toBe('600');
  }
  await store.close();
}

describe('database file modes', () => {
  it('creates the directory 0700 and the database, -wal and -shm 0600', async () => {
    const dir = join(scratch(), 'data', 'nested');
    const path = join(dir, 'pushkeeper.db');
    await openWriteClose(path);
    expect(modeOf(dir).toString(8)).toBe('700');
    expect(modeOf(join(dir, '..')).toString(8)).toBe('700');
    expect(modeOf(path).toString(8)).toBe('600');
  });

  it('tightens a database and WAL files restored with mode 0644', async () => {
    const dir = scratch();
    const path = join(dir, 'pushkeeper.db');
    await openWriteClose(path);
    chmodSync(path, 0o644);
    writeFileSync(`${path}-wal`, '');
    chmodSync(`${path}-wal`, 0o644);
    await openWriteClose(path);
    expect(modeOf(path).toString(8)).toBe('600');
  });

  it('the data directory made for generated secrets is 0700 too', () => {
    const dataDir = join(scratch(), 'fresh-data');
    resolveAdminToken(dataDir, undefined);
    expect(modeOf(dataDir).toString(8)).toBe('700');
  });
});
