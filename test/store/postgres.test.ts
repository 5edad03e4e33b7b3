import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import { migrateFromProcesses } from './concurrent-migrate.ts';
import { openPostgres } from '../../src/store/postgres/open-postgres.ts';
import { runStoreConformance, STORE_MIGRATIONS } from './conformance.ts';
import { runNarrowKeysUpgrade } from './narrow-keys-upgrade.ts';
import { createTestDatabase } from './postgres-harness.ts';

/** Rows of one query, on a connection of its own: the harness reads the database beside the store. */
async function rowsOf<Row extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

runStoreConformance('postgres', async () => {
  const database = await createTestDatabase();
  return {
    openStore: (secretKey) => openStore({ url: database.url, secretKey, postgresPoolSize: 4 }),
    // The raw medium: every column of every app row rendered as text by the server.
    async rawAppBytes() {
      const rows = await rowsOf<{ row: string }>(
        database.url,
        'select row_to_json(a)::text as row from apps a union all select row_to_json(s)::text from app_identity_secrets s',
      );
      return Buffer.from(rows.map((r) => r.row).join('\n'));
    },
    async outcomeRows(notificationId) {
      const rows = await rowsOf<{ n: string }>(
        database.url,
        'select count(*) as n from notification_outcomes where notification_id = $1',
        [notificationId],
      );
      return Number(rows[0]?.n);
    },
    async foreignKeyTargets(table) {
      const rows = await rowsOf<{ target: string }>(
        database.url,
        "select confrelid::regclass::text as target from pg_constraint where conrelid = $1::regclass and contype = 'f'",
        [table],
      );
      return rows.map((row) => row.target);
    },
    cleanup: () => database.drop(),
  };
});

runNarrowKeysUpgrade('postgres', async () => {
  const database = await createTestDatabase();
  return {
    connect: () => openPostgres({ connectionString: database.url, poolSize: 2 }),
    openStore: (secretKey) => openStore({ url: database.url, secretKey, postgresPoolSize: 4 }),
    cleanup: () => database.drop(),
  };
});

describe('postgres store availability', () => {
  it('an unreachable server is PK_ERR_STORE_UNAVAILABLE, from ping and from queries', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const store = openStore({ url: 'postgres://postgres@127.0.0.1:1/none', secretKey: randomBytes(32) });
    try {
      await expect(store.ping()).rejects.toMatchObject({ code: 'PK_ERR_STORE_UNAVAILABLE' });
      await expect(store.devices.get('app_x', 'ab'.repeat(32))).rejects.toMatchObject({
        code: 'PK_ERR_STORE_UNAVAILABLE',
      });
      await expect(store.migrate()).rejects.toMatchObject({ code: 'PK_ERR_STORE_UNAVAILABLE' });
    } finally {
      await store.close();
    }
  });
});

describe('postgres migrations from several processes', () => {
  it('three processes migrating one empty database: one applies, the others wait and find nothing to do', async () => {
    const database = await createTestDatabase();
    try {
      const reports = await migrateFromProcesses(database.url, 3);
      const applied = reports.filter((report) => report.applied.length > 0);
      expect(applied).toHaveLength(1);
      expect(applied[0]!.applied).toEqual(STORE_MIGRATIONS);
    } finally {
      await database.drop();
    }
  });
});
