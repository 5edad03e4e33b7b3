import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import { migrateFromProcesses } from './concurrent-migrate.ts';
import { openSqlite } from '../../src/store/sqlite/open-sqlite.ts';
import { runStoreConformance, STORE_MIGRATIONS } from './conformance.ts';
import { runNarrowKeysUpgrade } from './narrow-keys-upgrade.ts';

runStoreConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-store-'));
  const file = join(dir, 'pushkeeper.db');
  return {
    openStore: (secretKey) => openStore({ url: `sqlite:${file}`, secretKey }),
    // The raw medium: the database file and its write-ahead log, byte for byte.
    async rawAppBytes() {
      return Buffer.concat(
        [file, `${file}-wal`].filter((path) => existsSync(path)).map((path) => readFileSync(path)),
      );
    },
    async outcomeRows(notificationId) {
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        const row = db
          .prepare('select count(*) as n from notification_outcomes where notification_id = ?')
          .get(notificationId) as { n: number };
        return row.n;
      } finally {
        db.close();
      }
    },
    async foreignKeyTargets(table) {
      const db = new DatabaseSync(file, { readOnly: true });
      try {
        const rows = db.prepare('select "table" as target from pragma_foreign_key_list(?)').all(table);
        return rows.map((row) => String(row['target']));
      } finally {
        db.close();
      }
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

runNarrowKeysUpgrade('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pk-store-upgrade-'));
  const file = join(dir, 'pushkeeper.db');
  return {
    connect: () => openSqlite({ path: file }),
    openStore: (secretKey) => openStore({ url: `sqlite:${file}`, secretKey }),
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('sqlite store availability', () => {
  it('a write lock held past busy_timeout is PK_ERR_STORE_UNAVAILABLE, and the store recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pk-store-busy-'));
    const file = join(dir, 'busy.db');
    const store = openStore({ url: `sqlite:${file}`, secretKey: randomBytes(32), sqliteBusyTimeoutMs: 50 });
    const other = new DatabaseSync(file);
    try {
      await store.migrate();
      const app = await store.apps.create({
        name: 'Busy',
        topic: 'com.example.busy',
        credentials: { auth: 'token', teamId: 'T', keyId: 'K', privateKey: 'P' },
      });
      if (!app.ok) throw new Error('app');
      other.exec('BEGIN IMMEDIATE');
      await expect(store.devices.register(app.value.id, { token: 'ab'.repeat(32) })).rejects.toMatchObject({
        code: 'PK_ERR_STORE_UNAVAILABLE',
      });
      other.exec('ROLLBACK');
      const registered = await store.devices.register(app.value.id, { token: 'ab'.repeat(32) });
      expect(registered.ok && registered.value.created).toBe(true);
    } finally {
      other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sqlite migrations from several processes', () => {
  it('three processes migrating one empty file: one applies, the others find nothing to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pk-store-migrate-'));
    try {
      const reports = await migrateFromProcesses(`sqlite:${join(dir, 'm.db')}`, 3);
      const applied = reports.filter((report) => report.applied.length > 0);
      expect(applied).toHaveLength(1);
      expect(applied[0]!.applied).toEqual(STORE_MIGRATIONS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
