/**
 * Upgrading a registry to migration 0003 (integer app keys, token bytes): a database migrated to
 * 0002 and holding devices in the old shape is migrated by the store, and every device is still
 * there, unchanged and addressable — by token, alias, tag, audience and list, with its id (so saved
 * cursors stay valid) — while new devices and apps keep working. The migrations after 0003 run
 * too: a notification's outcomes written by 0002 survive 0005's rebuild of their table. Run
 * against both databases by sqlite.test.ts and postgres.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { type Kysely, type Migration, Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceToken } from '../../src/domain/index.ts';
import type { StoreConnection } from '../../src/store/connection.ts';
import type { Device, Outcome, Store } from '../../src/store/index.ts';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, storeMigrations } from '../../src/store/migrations.ts';
import { STORE_MIGRATIONS, token } from './conformance.ts';

export interface UpgradeHarness {
  /** A connection to a fresh, empty database (per-database folder, no migrations run). */
  connect(): StoreConnection;
  /** A store over the same database. */
  openStore(secretKey: Buffer): Store;
  cleanup(): Promise<void>;
}

const BEFORE = '0002_feedback_poll_claims';
const DEVICES_A = 300;

interface OldDevice {
  id: number;
  app_id: string;
  token: string;
  environment: string;
  alias: string | null;
  tags: string;
  locale: string | null;
  created_at: number;
  last_registered_at: number;
  last_success_at: number | null;
  invalid_since: number | null;
  invalid_reason: string | null;
  registrations: number;
}

/** Migrations up to `BEFORE` only, as a registry written by the previous release holds them. */
async function migrateToPrevious(connection: StoreConnection): Promise<void> {
  const all = storeMigrations(connection.capabilities);
  const previous: Record<string, Migration> = {};
  for (const name of Object.keys(all).sort()) if (name <= BEFORE) previous[name] = all[name]!;
  const migrator = new Migrator({
    db: connection.db,
    provider: { getMigrations: async () => previous },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}

function toContract(row: OldDevice): Device {
  return {
    token: row.token as DeviceToken,
    environment: row.environment as Device['environment'],
    alias: row.alias,
    tags: JSON.parse(row.tags) as string[],
    locale: row.locale,
    createdAt: new Date(row.created_at),
    lastRegisteredAt: new Date(row.last_registered_at),
    lastSuccessAt: row.last_success_at === null ? null : new Date(row.last_success_at),
    invalidSince: row.invalid_since === null ? null : new Date(row.invalid_since),
    invalidReason: row.invalid_reason,
  };
}

const NOTIFICATION = 'ntf_upgrade';
const OLD_OUTCOMES: Outcome[] = [
  {
    token: token(0),
    outcome: 'accepted',
    reason: null,
    apnsId: '0a9c2f6e-4b1d-4c3e-9f00-000000000000',
    at: new Date(1_700_000_500_000),
  },
  {
    token: token(1),
    outcome: 'rejected',
    reason: 'BadDeviceToken',
    apnsId: '0a9c2f6e-4b1d-4c3e-9f00-000000000001',
    at: new Date(1_700_000_500_001),
  },
  { token: token(2), outcome: 'accepted', reason: null, apnsId: null, at: new Date(1_700_000_500_002) },
];

export function runNarrowKeysUpgrade(name: string, makeHarness: () => Promise<UpgradeHarness>): void {
  describe(`upgrade to 0003_narrow_device_keys: ${name}`, () => {
    let harness: UpgradeHarness;
    let store: Store;
    const appA = 'app_upgrade_a';
    const appB = 'app_upgrade_b';
    const seeded: OldDevice[] = [];
    const tagRows: { app_id: string; tag: string; device_id: number }[] = [];

    beforeAll(async () => {
      harness = await makeHarness();
      const connection = harness.connect();
      try {
        await migrateToPrevious(connection);
        // The old shape, written as the previous release wrote it: text app ids, hex text tokens.
        // biome-ignore lint/suspicious/noExplicitAny: the 0002 schema is not the typed Database.
        const db = connection.db as unknown as Kysely<any>;
        await db
          .insertInto('apps')
          .values(
            [appA, appB].map((id, i) => ({
              id,
              name: `Upgrade ${i}`,
              topic: 'com.example.upgrade',
              auth_kind: 'token',
              credentials: randomBytes(40),
              created_at: 1_700_000_000_000 + i,
              updated_at: 1_700_000_000_000 + i,
            })),
          )
          .execute();
        let id = 0;
        for (let n = 0; n < DEVICES_A; n++) {
          id += 1 + (n % 3); // gaps, as deletions leave them
          const tags = n % 4 === 0 ? ['beta', `group${n % 3}`] : [];
          seeded.push({
            id,
            app_id: appA,
            token: token(n),
            environment: n % 5 === 0 ? 'sandbox' : 'production',
            alias: n % 2 === 0 ? `user${n % 50}` : null,
            tags: JSON.stringify(tags),
            locale: n % 7 === 0 ? 'fr-FR' : null,
            created_at: 1_700_000_000_000 + n,
            last_registered_at: 1_700_000_100_000 + n,
            last_success_at: n % 6 === 0 ? 1_700_000_200_000 + n : null,
            invalid_since: n % 11 === 0 ? 1_700_000_300_000 + n : null,
            invalid_reason: n % 11 === 0 ? 'BadDeviceToken' : null,
            registrations: 1 + (n % 4),
          });
          for (const tag of tags) tagRows.push({ app_id: appA, tag, device_id: id });
        }
        // App B: the same token as one of A's (an independent device) and a longer token.
        for (const [i, hex] of [token(1), `${'ab'.repeat(32)}cdef0123`].entries()) {
          id += 1;
          seeded.push({
            id,
            app_id: appB,
            token: hex,
            environment: 'production',
            alias: 'shared',
            tags: JSON.stringify(['b']),
            locale: null,
            created_at: 1_700_000_000_000 + i,
            last_registered_at: 1_700_000_000_000 + i,
            last_success_at: null,
            invalid_since: null,
            invalid_reason: null,
            registrations: 1,
          });
          tagRows.push({ app_id: appB, tag: 'b', device_id: id });
        }
        await db.insertInto('devices').values(seeded).execute();
        await db.insertInto('device_tags').values(tagRows).execute();
        // A notification with outcomes, as 0001's tables held them (0005 rebuilds the outcomes).
        await db
          .insertInto('notifications')
          .values({
            id: NOTIFICATION,
            app_id: appA,
            audience: '{"all":true}',
            payload: '{"aps":{}}',
            options: '{}',
            status: 'sending',
            targeted: 4,
            accepted: 2,
            rejected: 1,
            request_hash: 'h',
            created_at: 1_700_000_400_000,
          })
          .execute();
        await db
          .insertInto('notification_outcomes')
          .values(
            OLD_OUTCOMES.map((outcome) => ({
              notification_id: NOTIFICATION,
              token: outcome.token,
              outcome: outcome.outcome,
              reason: outcome.reason,
              apns_id: outcome.apnsId,
              at: outcome.at.getTime(),
            })),
          )
          .execute();
      } finally {
        await connection.close();
      }
      store = harness.openStore(randomBytes(32));
    });

    afterAll(async () => {
      await store?.close();
      await harness?.cleanup();
    });

    it('applies 0003 and what follows it, and every device is still there, unchanged', async () => {
      // 0003 and every migration after it; nothing before it runs again.
      expect((await store.migrate()).applied).toEqual(STORE_MIGRATIONS.filter((name) => name > BEFORE));
      expect(await store.devices.count(appA)).toBe(DEVICES_A);
      expect(await store.devices.count(appB)).toBe(2);
      for (const row of seeded) {
        const got = await store.devices.get(row.app_id, row.token);
        expect(got.ok && got.value).toEqual(toContract(row));
      }
    });

    it("keeps a notification's outcomes: listed, counted once, still the idempotency key", async () => {
      const failures = await store.notifications.listFailures(appA, NOTIFICATION);
      expect(failures.ok && failures.value.items).toEqual(
        OLD_OUTCOMES.filter((o) => o.outcome !== 'accepted'),
      );
      const recorded = await store.notifications.recordedTokens(appA, NOTIFICATION, [
        token(0),
        token(1),
        token(2),
        token(3),
      ]);
      expect([...recorded].sort()).toEqual(OLD_OUTCOMES.map((o) => o.token).sort());
      // An outcome already recorded is not recorded (or counted) again; a new one is.
      expect(
        await store.notifications.recordOutcomes(appA, NOTIFICATION, [
          { token: token(1), outcome: 'failed', reason: 'PK_ERR_APNS_UNAVAILABLE' },
          { token: token(3), outcome: 'accepted' },
        ]),
      ).toBe(1);
      const notification = await store.notifications.get(appA, NOTIFICATION);
      expect(notification?.counts).toMatchObject({ targeted: 4, accepted: 3, rejected: 1, pending: 0 });
    });

    it('keeps device ids: a full listing walks the old id order', async () => {
      const listed: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.devices.list(
          appA,
          { all: true },
          { limit: 64, ...(cursor ? { cursor } : {}) },
        );
        if (!page.ok) throw new Error(page.error.code);
        listed.push(...page.value.items.map((device) => device.token));
        cursor = page.value.nextCursor;
      } while (cursor !== null);
      expect(listed).toEqual(seeded.filter((row) => row.app_id === appA).map((row) => row.token));
    });

    it('finds devices by alias, tag and audience, per app', async () => {
      const inA = seeded.filter((row) => row.app_id === appA);
      const byAlias = await store.devices.list(appA, { alias: 'user4' }, { limit: 1000 });
      expect(byAlias.ok && byAlias.value.items.map((d) => d.token)).toEqual(
        inA.filter((row) => row.alias === 'user4').map((row) => row.token),
      );
      const byTag = await store.devices.list(appA, { tag: 'beta' }, { limit: 1000 });
      expect(byTag.ok && byTag.value.items.map((d) => d.token)).toEqual(
        inA.filter((row) => row.tags.includes('"beta"')).map((row) => row.token),
      );
      expect(await store.devices.count(appA, { tag: 'group1' })).toBe(
        inA.filter((row) => row.tags.includes('"group1"')).length,
      );
      const streamed: string[] = [];
      for await (const page of store.devices.streamAudience(appA, { all: true }, { pageSize: 37 })) {
        streamed.push(...page.devices.map((device) => device.token));
      }
      expect(streamed).toEqual(inA.filter((row) => row.invalid_since === null).map((row) => row.token));
      const tokens = [token(2), token(3), token(1)];
      const byTokens: string[] = [];
      for await (const page of store.devices.streamAudience(appB, { tokens })) {
        byTokens.push(...page.devices.map((device) => device.token));
      }
      expect(byTokens).toEqual([token(1)]);
      const tagsOfB: string[] = [];
      for await (const page of store.devices.streamAudience(appB, { tags: ['b', 'beta'] })) {
        tagsOfB.push(...page.devices.map((device) => device.token));
      }
      expect(tagsOfB).toEqual(seeded.filter((row) => row.app_id === appB).map((row) => row.token));
    });

    it('refreshes, creates after the old ids, invalidates and deletes as before', async () => {
      const refreshed = await store.devices.register(appA, { token: token(4), tags: ['beta', 'new'] });
      expect(refreshed.ok && refreshed.value.created).toBe(false);
      expect(refreshed.ok && refreshed.value.device.alias).toBe('user4');
      expect(await store.devices.count(appA, { tag: 'new' })).toBe(1);
      const created = await store.devices.register(appA, { token: token(9999) });
      expect(created.ok && created.value.created).toBe(true);
      // The new device's id follows every copied one (PostgreSQL's identity was moved past them).
      const last = await store.devices.list(appA, { all: true }, { limit: 1000 });
      expect(last.ok && last.value.items.at(-1)?.token).toBe(token(9999));

      const removed = await store.invalidations.invalidate(appA, token(1), {
        reason: 'Unregistered',
        source: 'apns-410',
        at: new Date(1_800_000_000_000),
      });
      expect(removed).toBe('removed');
      // App B's device with the same token is another device.
      const inB = await store.devices.get(appB, token(1));
      expect(inB.ok && inB.value?.token).toBe(token(1));
      expect(await store.devices.delete(appB, token(1))).toEqual({ ok: true, value: true });
      expect(await store.devices.count(appB)).toBe(1);
    });

    it('deleting an app removes its devices and tags only; new apps get their own key', async () => {
      expect(await store.apps.delete(appA)).toBe(true);
      expect(await store.devices.count(appA)).toBe(0);
      expect(await store.devices.count(appA, { tag: 'beta' })).toBe(0);
      expect(await store.devices.count(appB)).toBe(1);
      const app = await store.apps.create({
        name: 'After',
        topic: 'com.example.after',
        credentials: { auth: 'token', teamId: 'T', keyId: 'K', privateKey: 'P' },
      });
      if (!app.ok) throw new Error(app.error.code);
      const registered = await store.devices.register(app.value.id, { token: token(1), tags: ['b'] });
      expect(registered.ok && registered.value.created).toBe(true);
      expect(await store.devices.count(app.value.id, { tag: 'b' })).toBe(1);
      expect(await store.devices.count(appB, { tag: 'b' })).toBe(1);
    });
  });
}
