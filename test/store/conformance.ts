/**
 * The store conformance suite: one body of tests, run unchanged against SQLite
 * (sqlite.test.ts) and PostgreSQL (postgres.test.ts). A harness opens a fresh, empty database.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceToken } from '../../src/domain/index.ts';
import { isPushkeeperError } from '../../src/errors.ts';
import { batchCheckpointTests } from './conformance-batches.ts';
import type {
  AudiencePage,
  Device,
  DeviceInput,
  Invalidation,
  Notification,
  Outcome,
  Page,
  Store,
} from '../../src/store/index.ts';

export interface StoreHarness {
  /** A fresh empty database; calling again returns a store over the same database. */
  openStore(secretKey: Buffer): Store;
  /** Every byte the database keeps about apps, as the raw medium holds it (file bytes / row text). */
  rawAppBytes(): Promise<Buffer>;
  /** Rows of notification_outcomes for one notification, counted in the database itself. */
  outcomeRows(notificationId: string): Promise<number>;
  /** The tables a table's foreign keys refer to, from the database's catalogue. */
  foreignKeyTargets(table: string): Promise<string[]>;
  /** Drops the database and removes files. */
  cleanup(): Promise<void>;
}

/** A deterministic valid token: 64 hex digits from a number and a salt. */
export function token(n: number, salt = 0): DeviceToken {
  return (salt.toString(16).padStart(8, '0') + n.toString(16).padStart(56, '0')) as DeviceToken;
}

const CREDENTIALS = {
  auth: 'token' as const,
  teamId: 'TEAM123456',
  keyId: 'KEYID12345',
  privateKey: '-----BEGIN PRIVATE KEY-----\nTOP-SECRET-P8-MATERIAL-0123456789\n-----END PRIVATE KEY-----',
};

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function expectOk<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.value;
}

function expectCode(result: { ok: boolean; error?: { code: string } }, code: string): void {
  expect(result.ok).toBe(false);
  expect(result.error?.code).toBe(code);
}

/** Every migration, in order: an empty database gets all of them. */
export const STORE_MIGRATIONS = [
  '0001_initial_schema',
  '0002_feedback_poll_claims',
  '0003_narrow_device_keys',
  '0004_notification_count_shards',
  '0005_outcomes_without_foreign_key',
  '0009_notification_batches',
];

export function runStoreConformance(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`store conformance: ${name}`, () => {
    const secretKey = randomBytes(32);
    let harness: StoreHarness;
    let store: Store;
    let appCounter = 0;

    async function newApp(topic = 'com.example.app'): Promise<string> {
      appCounter += 1;
      const app = expectOk(
        await store.apps.create({ name: `App ${appCounter}`, topic, credentials: CREDENTIALS }),
      );
      return app.id;
    }

    beforeAll(async () => {
      harness = await makeHarness();
      store = harness.openStore(secretKey);
    });

    afterAll(async () => {
      await store?.close();
      await harness?.cleanup();
    });

    describe('migrations', () => {
      it('migrates an empty database, and concurrent re-runs apply nothing twice', async () => {
        const first = await store.migrate();
        expect(first.applied).toEqual(STORE_MIGRATIONS);
        // 0005: outcomes refer to their notification without a foreign key; counts keep theirs.
        expect(await harness.foreignKeyTargets('notification_outcomes')).toEqual([]);
        expect(await harness.foreignKeyTargets('notification_counts')).toEqual(['notifications']);
        expect(first.latest).toBe(STORE_MIGRATIONS.at(-1));
        const others = [
          harness.openStore(secretKey),
          harness.openStore(secretKey),
          harness.openStore(secretKey),
        ];
        try {
          const reports = await Promise.all(others.map((other) => other.migrate()));
          for (const report of reports) expect(report.applied).toEqual([]);
          expect((await store.migrate()).applied).toEqual([]);
        } finally {
          await Promise.all(others.map((other) => other.close()));
        }
        await store.ping();
      });
    });

    describe('apps and secrets', () => {
      it('encrypts credentials and webhook secrets at rest and decrypts them for the service', async () => {
        const created = expectOk(
          await store.apps.create({
            name: 'Secretive',
            topic: 'com.example.secret',
            credentials: CREDENTIALS,
            webhook: { url: 'https://hooks.example.com/pk', secret: 'WEBHOOK-SECRET-abcdef' },
            endpoints: { production: 'https://127.0.0.1:4443', sandbox: null, caPem: null },
          }),
        );
        expect(created.id).toMatch(/^app_/);
        expect(created.authKind).toBe('token');
        expect(created.webhookUrl).toBe('https://hooks.example.com/pk');
        expect(JSON.stringify(created)).not.toContain('TOP-SECRET');
        const secrets = await store.apps.getSecrets(created.id);
        expect(secrets?.credentials).toEqual(CREDENTIALS);
        expect(secrets?.webhook?.secret).toBe('WEBHOOK-SECRET-abcdef');

        const raw = await harness.rawAppBytes();
        expect(raw.includes('Secretive')).toBe(true); // the probe does see the table
        expect(raw.includes('TOP-SECRET-P8-MATERIAL')).toBe(false);
        expect(raw.includes('WEBHOOK-SECRET-abcdef')).toBe(false);

        const listed = expectOk(await store.apps.list({ limit: 1000 }));
        expect(JSON.stringify(listed)).not.toContain('TOP-SECRET');
      });

      it('re-encrypts on a topic change; a wrong secret key fails with PK_ERR_DECRYPT_FAILED', async () => {
        const appId = await newApp('com.example.before');
        expectOk(await store.apps.update(appId, { topic: 'com.example.after', name: 'Renamed' }));
        expect((await store.apps.getSecrets(appId))?.credentials).toEqual(CREDENTIALS);
        expect((await store.apps.get(appId))?.topic).toBe('com.example.after');

        const wrong = harness.openStore(randomBytes(32));
        try {
          await expect(wrong.apps.getSecrets(appId)).rejects.toMatchObject({ code: 'PK_ERR_DECRYPT_FAILED' });
        } finally {
          await wrong.close();
        }
      });

      it('rejects bad credentials without writing, and tracks credentials health', async () => {
        const before = expectOk(await store.apps.list({ limit: 1000 })).items.length;
        expectCode(
          await store.apps.create({ name: 'Bad', topic: 'com.bad', credentials: { auth: 'token' } as never }),
          'PK_ERR_CREDENTIALS_INVALID',
        );
        expectCode(
          await store.apps.create({
            name: 'Bad',
            topic: 'com.bad',
            credentials: CREDENTIALS,
            webhook: { url: 'not a url', secret: 'x' },
          }),
          'PK_ERR_WEBHOOK_INVALID',
        );
        expect(expectOk(await store.apps.list({ limit: 1000 })).items.length).toBe(before);

        const appId = await newApp();
        const since = new Date('2026-01-01T00:00:00Z');
        await store.apps.setApnsHealth(appId, {
          status: 'unauthorized',
          reason: 'InvalidProviderToken',
          since,
        });
        expect((await store.apps.get(appId))?.apnsHealth).toEqual({
          status: 'unauthorized',
          reason: 'InvalidProviderToken',
          since,
        });
        // The same status again keeps its first moment; another status starts its own.
        const later = new Date('2026-01-01T00:05:00Z');
        expect(await store.apps.setApnsHealth(appId, { status: 'unauthorized', reason: 'Forbidden', since: later })).toEqual({
          status: 'unauthorized',
          reason: 'Forbidden',
          since,
        });
        expect(await store.apps.setApnsHealth(appId, { status: 'unreachable', reason: 'ECONNREFUSED', since: later })).toEqual({
          status: 'unreachable',
          reason: 'ECONNREFUSED',
          since: later,
        });
        expect(await store.apps.setApnsHealth('app_missing', { status: 'healthy' })).toBeNull();
        expectOk(await store.apps.update(appId, { credentials: { ...CREDENTIALS, keyId: 'NEWKEY0001' } }));
        expect((await store.apps.get(appId))?.apnsHealth).toEqual({ status: 'healthy' });
        expect((await store.apps.getSecrets(appId))?.credentials).toMatchObject({ keyId: 'NEWKEY0001' });
      });

      it('deleting an app removes its devices, keys, notifications and their outcomes', async () => {
        const appId = await newApp();
        const otherAppId = await newApp();
        expectOk(await store.devices.register(appId, { token: token(1) }));
        expectOk(
          await store.keys.create({ appId, scope: 'server', prefix: 'pk_server_x', sha256: 'c'.repeat(64) }),
        );
        const push = { audience: { all: true as const }, payload: '{"aps":{}}', options: {} };
        const mine = expectOk(await store.notifications.create(appId, push)).notification.id;
        const theirs = expectOk(await store.notifications.create(otherAppId, push)).notification.id;
        const outcomes = [
          { token: token(1), outcome: 'accepted' as const },
          { token: token(2), outcome: 'rejected' as const, reason: 'BadDeviceToken' },
        ];
        expect(await store.notifications.recordOutcomes(appId, mine, outcomes)).toBe(2);
        expect(await store.notifications.recordOutcomes(otherAppId, theirs, outcomes)).toBe(2);
        expect(await harness.outcomeRows(mine)).toBe(2);
        expect(await store.apps.delete(appId)).toBe(true);
        expect(await store.apps.get(appId)).toBeNull();
        expect(await store.devices.count(appId)).toBe(0);
        expect(await store.keys.findByHash('c'.repeat(64))).toBeNull();
        expect(await store.notifications.get(appId, mine)).toBeNull();
        expect(await harness.outcomeRows(mine)).toBe(0);
        // Another app's notification and outcomes are untouched; outcomes for the deleted
        // notification are refused, not left behind.
        expect(await harness.outcomeRows(theirs)).toBe(2);
        expect(await store.notifications.recordOutcomes(appId, mine, outcomes)).toBe(0);
        expect(await harness.outcomeRows(mine)).toBe(0);
        expect(await store.apps.delete(appId)).toBe(false);
      });
    });

    describe('API keys', () => {
      it('stores hashes, finds by hash, revokes and touches cheaply', async () => {
        const appId = await newApp();
        const hash = randomBytes(32).toString('hex');
        const key = expectOk(
          await store.keys.create({ appId, scope: 'publishable', prefix: 'pk_pub_ab12', sha256: hash }),
        );
        expect(key.id).toMatch(/^key_/);
        expect(await store.keys.findByHash(hash)).toEqual(key);
        expectCode(
          await store.keys.create({ appId, scope: 'admin', prefix: 'x', sha256: hash }),
          'PK_ERR_VALIDATION',
        );
        expectCode(
          await store.keys.create({
            appId: 'app_missing',
            scope: 'server',
            prefix: 'x',
            sha256: 'd'.repeat(64),
          }),
          'PK_ERR_APP_NOT_FOUND',
        );
        const t1 = new Date('2026-03-01T00:00:00Z');
        await store.keys.touch(key.id, t1);
        await store.keys.touch(key.id, new Date(t1.getTime() + 1000));
        expect((await store.keys.findByHash(hash))?.lastUsedAt).toEqual(t1);
        await store.keys.touch(key.id, new Date(t1.getTime() + 120_000));
        expect((await store.keys.findByHash(hash))?.lastUsedAt).toEqual(new Date(t1.getTime() + 120_000));
        expect(await store.keys.revoke('app_other', key.id)).toBe(false);
        expect(await store.keys.revoke(appId, key.id)).toBe(true);
        expect((await store.keys.findByHash(hash))?.revokedAt).toBeInstanceOf(Date);
        expect(await store.keys.list(appId)).toHaveLength(1);
        const admin = expectOk(
          await store.keys.create({
            appId: null,
            scope: 'admin',
            prefix: 'pk_admin',
            sha256: randomBytes(32).toString('hex'),
          }),
        );
        expect((await store.keys.list(null)).map((k) => k.id)).toContain(admin.id);
      });
    });

    describe('devices', () => {
      it('register is an idempotent upsert that refreshes last_registered_at and clears invalid_since', async () => {
        const appId = await newApp();
        const t0 = new Date('2026-02-01T00:00:00Z');
        const t1 = new Date('2026-02-02T00:00:00Z');
        const first = expectOk(
          await store.devices.register(
            appId,
            {
              token: token(1).toUpperCase(),
              environment: 'sandbox',
              alias: '42',
              tags: ['b', 'a', 'a'],
              locale: 'en_GB',
            },
            t0,
          ),
        );
        expect(first.created).toBe(true);
        expect(first.device).toMatchObject({
          token: token(1),
          environment: 'sandbox',
          alias: '42',
          tags: ['a', 'b'],
          locale: 'en_GB',
          createdAt: t0,
          lastRegisteredAt: t0,
          lastSuccessAt: null,
          invalidSince: null,
        });
        expect(await store.devices.markInvalid(appId, token(1), { reason: 'BadDeviceToken', at: t0 })).toBe(
          true,
        );
        expect(expectOk(await store.devices.get(appId, token(1)))?.invalidReason).toBe('BadDeviceToken');
        const again = expectOk(await store.devices.register(appId, { token: token(1) }, t1));
        expect(again.created).toBe(false);
        // Absent fields are kept; the registration time moves; the invalid mark is cleared.
        expect(again.device).toMatchObject({
          environment: 'sandbox',
          alias: '42',
          tags: ['a', 'b'],
          locale: 'en_GB',
          createdAt: t0,
          lastRegisteredAt: t1,
          invalidSince: null,
          invalidReason: null,
        });
        const cleared = expectOk(
          await store.devices.register(appId, { token: token(1), alias: null, tags: [], locale: null }, t1),
        );
        expect(cleared.device).toMatchObject({ alias: null, tags: [], locale: null });
        expect(await store.devices.count(appId)).toBe(1);
        expect(await store.devices.count(appId, { tag: 'a' })).toBe(0);
      });

      it('rejects bad input with stable codes and writes nothing', async () => {
        const appId = await newApp();
        const cases: [DeviceInput, string][] = [
          [{ token: 'xyz' }, 'PK_ERR_TOKEN_INVALID'],
          [{ token: 'ab'.repeat(16) }, 'PK_ERR_TOKEN_INVALID'],
          [{ token: `${'a'.repeat(63)}` }, 'PK_ERR_TOKEN_INVALID'],
          [{ token: token(1), environment: 'staging' }, 'PK_ERR_ENVIRONMENT_INVALID'],
          [{ token: token(1), alias: '' }, 'PK_ERR_ALIAS_INVALID'],
          [{ token: token(1), tags: ['ok', 'bad\u0000'] }, 'PK_ERR_TAG_INVALID'],
          [{ token: token(1), tags: 'x' }, 'PK_ERR_TAG_INVALID'],
          [{ token: token(1), locale: 'not a locale' }, 'PK_ERR_LOCALE_INVALID'],
        ];
        for (const [input, code] of cases) expectCode(await store.devices.register(appId, input), code);
        expect(await store.devices.count(appId)).toBe(0);
        expectCode(
          await store.devices.register('app_does_not_exist', { token: token(1) }),
          'PK_ERR_APP_NOT_FOUND',
        );
        expectCode(await store.devices.get(appId, 'nope'), 'PK_ERR_TOKEN_INVALID');
        expectCode(
          await store.devices.list(appId, { all: true }, { cursor: 'garbage!' }),
          'PK_ERR_CURSOR_INVALID',
        );
        expectCode(
          await store.devices.list(
            appId,
            { all: true },
            { cursor: Buffer.from('{"k":"devices","i":-1}').toString('base64url') },
          ),
          'PK_ERR_CURSOR_INVALID',
        );
        expectCode(await store.devices.list(appId, { all: true }, { limit: 0 }), 'PK_ERR_VALIDATION');
        expectCode(await store.devices.bindAlias(appId, token(1), 'x'), 'PK_ERR_DEVICE_NOT_FOUND');
        await expect(
          collect(store.devices.streamAudience(appId, { all: true }, { after: 'bm9wZQ' })),
        ).rejects.toMatchObject({
          code: 'PK_ERR_CURSOR_INVALID',
        });
        expect(await store.devices.count(appId)).toBe(0);
      });

      it('concurrent registrations each get their own answer, as if made one after another', async () => {
        const appId = await newApp();
        const at = new Date('2026-03-01T00:00:00Z');
        const calls = await Promise.all([
          ...Array.from({ length: 200 }, (_, i) =>
            store.devices.register(appId, { token: token(i), alias: `u${i}` }, at),
          ),
          store.devices.register(appId, { token: token(7), tags: ['vip'] }, at),
          store.devices.register('app_unknown', { token: token(1) }, at),
          store.devices.register(appId, { token: 'not-a-token' }, at),
        ]);
        const created = calls.slice(0, 200).map((call) => expectOk(call).created);
        expect(created.every(Boolean)).toBe(true);
        const again = expectOk(calls[200]!);
        expect(again.created).toBe(false);
        expect(again.device).toMatchObject({ token: token(7), alias: 'u7', tags: ['vip'] });
        expectCode(calls[201]!, 'PK_ERR_APP_NOT_FOUND');
        expect(calls[202]!.ok).toBe(false);
        expect(await store.devices.count(appId)).toBe(200);
        expect(await store.devices.count(appId, { tag: 'vip' })).toBe(1);
      });

      it('binding an alias moves the device; unbind one device or every device of an alias', async () => {
        const appId = await newApp();
        for (const n of [1, 2, 3])
          expectOk(await store.devices.register(appId, { token: token(n), alias: 'alice' }));
        const moved = expectOk(await store.devices.bindAlias(appId, token(2), 'bob'));
        expect(moved.previousAlias).toBe('alice');
        const aliceDevices = expectOk(await store.devices.list(appId, { alias: 'alice' })).items.map(
          (d) => d.token,
        );
        expect(aliceDevices).toEqual([token(1), token(3)]);
        expect(expectOk(await store.devices.list(appId, { alias: 'bob' })).items.map((d) => d.token)).toEqual(
          [token(2)],
        );

        expect(expectOk(await store.devices.unbindAlias(appId, token(1)))).toBe(true);
        expect(expectOk(await store.devices.get(appId, token(1)))?.alias).toBeNull();
        expect(expectOk(await store.devices.unbindAlias(appId, token(9)))).toBe(false);

        expectOk(await store.devices.bindAlias(appId, token(1), 'bob'));
        expect(expectOk(await store.devices.unbindAllOfAlias(appId, 'bob'))).toBe(2);
        expect(await store.devices.count(appId, { alias: 'bob' })).toBe(0);
        expect(await store.devices.count(appId)).toBe(3);
        const pages = await collect(store.devices.streamAudience(appId, { alias: 'alice' }));
        expect(pages.flatMap((p) => p.devices.map((d) => d.token))).toEqual([token(3)]);
      });

      it('tags: add, remove, replace, list by tag, stream any-of without duplicates', async () => {
        const appId = await newApp();
        expectOk(await store.devices.register(appId, { token: token(1), tags: ['news'] }));
        expectOk(await store.devices.register(appId, { token: token(2), tags: ['sports', 'news'] }));
        expectOk(await store.devices.register(appId, { token: token(3) }));
        expect(expectOk(await store.devices.addTags(appId, token(3), ['beta', 'news'])).tags).toEqual([
          'beta',
          'news',
        ]);
        expect(expectOk(await store.devices.removeTags(appId, token(2), ['news'])).tags).toEqual(['sports']);
        expect(expectOk(await store.devices.replaceTags(appId, token(1), ['beta'])).tags).toEqual(['beta']);
        expectCode(await store.devices.addTags(appId, token(1), ['bad\u0001']), 'PK_ERR_TAG_INVALID');
        expectCode(await store.devices.addTags(appId, token(8), ['x']), 'PK_ERR_DEVICE_NOT_FOUND');

        const byTag = async (tag: string) =>
          expectOk(await store.devices.list(appId, { tag })).items.map((device) => device.token);
        expect(await byTag('beta')).toEqual([token(1), token(3)]);
        expect(await byTag('news')).toEqual([token(3)]);
        expect(await byTag('sports')).toEqual([token(2)]);
        expect(await store.devices.count(appId, { tag: 'beta' })).toBe(2);

        const stream = async (tags: string[], pageSize = 1) =>
          (await collect(store.devices.streamAudience(appId, { tags }, { pageSize }))).flatMap((p) =>
            p.devices.map((d) => d.token),
          );
        expect(await stream(['beta', 'news', 'sports'])).toEqual([token(1), token(2), token(3)]);
        expect(await stream(['news'])).toEqual([token(3)]);
        expect(await stream(['nobody'])).toEqual([]);
        // More tags than one statement takes: chunks must not yield a device twice.
        const many = Array.from({ length: 120 }, (_, i) => `t${String(i).padStart(3, '0')}`);
        expectOk(await store.devices.replaceTags(appId, token(1), [many[0]!, many[119]!]));
        expectOk(await store.devices.replaceTags(appId, token(2), [many[60]!, many[61]!]));
        expect((await stream(many, 2)).sort()).toEqual([token(1), token(2)]);
      });

      it('keyset pages: inserts between pages cause no duplicates and no gaps', async () => {
        const appId = await newApp();
        const before = Array.from({ length: 25 }, (_, i) => token(i + 1));
        expectOk(
          await store.devices.import(
            appId,
            before.map((t) => ({ token: t, environment: 'production' })),
          ),
        );
        const seen: string[] = [];
        let cursor: string | null = null;
        let round = 0;
        do {
          const page: Page<Device> = expectOk(
            await store.devices.list(appId, { all: true }, { cursor, limit: 4 }),
          );
          seen.push(...page.items.map((d) => d.token));
          cursor = page.nextCursor;
          round += 1;
          // Inserts and refreshes between pages: new tokens, and re-registrations of seen ones.
          expectOk(await store.devices.register(appId, { token: token(1000 + round) }));
          expectOk(await store.devices.register(appId, { token: before[0]! }));
        } while (cursor !== null && round < 100);
        expect(new Set(seen).size).toBe(seen.length);
        for (const t of before) expect(seen).toContain(t);

        const envPage = expectOk(await store.devices.list(appId, { environment: 'sandbox' }));
        expect(envPage.items).toEqual([]);
        expect(await store.devices.count(appId, { environment: 'production' })).toBe(25 + round);
      });

      it('bulk import reports created, updated and rejected lines; export reads everything back', async () => {
        const appId = await newApp();
        const rejectedAt: number[] = [];
        async function* lines(): AsyncIterable<DeviceInput> {
          for (let i = 0; i < 2500; i++)
            yield { token: token(i), alias: `u${i % 7}`, tags: i % 2 ? ['odd'] : [] };
          yield { token: 'bogus' };
          yield { token: token(5), environment: 'sandbox' };
        }
        const counts = expectOk(
          await store.devices.import(appId, lines(), {
            batchSize: 700,
            onRejected: (index) => rejectedAt.push(index),
          }),
        );
        expect(counts).toEqual({ created: 2500, updated: 1, rejected: 1 });
        expect(rejectedAt).toEqual([2500]);
        expect(expectOk(await store.devices.get(appId, token(5)))).toMatchObject({
          environment: 'sandbox',
          alias: 'u5',
        });
        expect(await store.devices.count(appId, { tag: 'odd' })).toBe(1250);
        const exported = await collect(store.devices.export(appId, { pageSize: 300 }));
        expect(exported).toHaveLength(2500);
        expect(new Set(exported.map((d) => d.token)).size).toBe(2500);
        const again = expectOk(
          await store.devices.import(appId, [{ token: token(1) }, { token: token(1), alias: 'z' }]),
        );
        expect(again).toEqual({ created: 0, updated: 1, rejected: 0 });
        expect(expectOk(await store.devices.get(appId, token(1)))?.alias).toBe('z');
      });

      it('a large import batch repeating tokens merges each token field by field, later entries winning', async () => {
        const appId = await newApp();
        // Hash-spread tokens, each given three times in one 9,000-row batch (the bucketed token sort).
        const spread = (i: number) => token(i, (i * 2654435761) % 2 ** 32) as string;
        const rows: DeviceInput[] = [];
        for (let i = 0; i < 3000; i++) rows.push({ token: spread(i), alias: `a${i}`, locale: 'en-GB' });
        for (let i = 0; i < 3000; i++) rows.push({ token: spread(i), environment: 'sandbox' });
        for (let i = 0; i < 3000; i++) rows.push({ token: spread(i), locale: `fr-FR` });
        expect(expectOk(await store.devices.import(appId, rows, { batchSize: 10_000 }))).toEqual({
          created: 3000,
          updated: 0,
          rejected: 0,
        });
        for (const i of [0, 1, 1234, 2999]) {
          expect(expectOk(await store.devices.get(appId, spread(i)))).toMatchObject({
            alias: `a${i}`,
            environment: 'sandbox',
            locale: 'fr-FR',
          });
        }
        expect(await store.devices.count(appId)).toBe(3000);
      });

      it('audience forms: alias, aliases, tokens, tags, all; invalid-marked devices are skipped; resume from a cursor', async () => {
        const appId = await newApp();
        expectOk(
          await store.devices.import(
            appId,
            Array.from({ length: 1200 }, (_, i) => ({
              token: token(i),
              alias: `user${i % 600}`,
              environment: i % 3 ? 'production' : 'sandbox',
            })),
          ),
        );
        const tokensOf = (pages: AudiencePage[]) => pages.flatMap((p) => p.devices.map((d) => d.token));
        const aliases = Array.from({ length: 600 }, (_, i) => `user${i}`).filter((_, i) => i % 2 === 0);
        const byAliases = tokensOf(
          await collect(store.devices.streamAudience(appId, { aliases }, { pageSize: 50 })),
        );
        expect(byAliases).toHaveLength(600);
        expect(new Set(byAliases).size).toBe(600);
        const wanted = Array.from({ length: 700 }, (_, i) => token(i * 2));
        const byTokens = tokensOf(
          await collect(
            store.devices.streamAudience(appId, { tokens: [...wanted, token(999_999)] }, { pageSize: 64 }),
          ),
        );
        expect(byTokens.sort()).toEqual(wanted.filter((t) => Number.parseInt(t, 16) < 1200).sort());
        const one = await collect(store.devices.streamAudience(appId, { alias: 'user3' }));
        expect(one.flatMap((p) => p.devices)).toEqual([
          { token: token(3), environment: 'sandbox', locale: null },
          { token: token(603), environment: 'sandbox', locale: null },
        ]);

        await store.devices.markInvalid(appId, token(0), { reason: 'BadDeviceToken', at: new Date() });
        const pages = await collect(store.devices.streamAudience(appId, { all: true }, { pageSize: 100 }));
        expect(tokensOf(pages)).toHaveLength(1199);
        // Resume after the 5th page: exactly the rest, as a fan-out checkpoint needs.
        const rest = await collect(
          store.devices.streamAudience(appId, { all: true }, { pageSize: 100, after: pages[4]!.cursor }),
        );
        expect(tokensOf(rest)).toEqual(tokensOf(pages.slice(5)));
        // Environment correction and last_success_at bookkeeping for the pipeline.
        expect(await store.devices.setEnvironment(appId, token(3), 'production')).toBe(true);
        const success = new Date('2026-05-05T00:00:00Z');
        await store.devices.markSuccess(appId, [token(3), token(4), token(4)], success);
        expect(expectOk(await store.devices.get(appId, token(3)))).toMatchObject({
          environment: 'production',
          lastSuccessAt: success,
        });
      });

      it('recording outcomes with successAt marks the accepted devices in the same call, and only them', async () => {
        const appId = await newApp();
        for (const n of [1, 2, 3]) expectOk(await store.devices.register(appId, { token: token(n, 9) }));
        const { notification } = expectOk(
          await store.notifications.create(appId, { audience: { all: true }, payload: '{}', options: {} }),
        );
        const success = new Date('2026-06-06T00:00:00Z');
        const recorded = await store.notifications.recordOutcomes(
          appId,
          notification.id,
          [
            { token: token(1, 9), outcome: 'accepted' },
            { token: token(2, 9), outcome: 'rejected', reason: 'BadTopic' },
          ],
          { successAt: success },
        );
        expect(recorded).toBe(2);
        expect(expectOk(await store.devices.get(appId, token(1, 9)))?.lastSuccessAt).toEqual(success);
        expect(expectOk(await store.devices.get(appId, token(2, 9)))?.lastSuccessAt).toBeNull();
        expect(expectOk(await store.devices.get(appId, token(3, 9)))?.lastSuccessAt).toBeNull();
        // Another app's notification: nothing recorded, no device touched.
        const other = await newApp();
        expect(
          await store.notifications.recordOutcomes(
            other,
            notification.id,
            [{ token: token(3, 9), outcome: 'accepted' }],
            {
              successAt: success,
            },
          ),
        ).toBe(0);
        expect(expectOk(await store.devices.get(appId, token(3, 9)))?.lastSuccessAt).toBeNull();
      });

      it('streams 200,000 devices in bounded pages (peak buffered rows = page size)', async () => {
        const appId = await newApp();
        const total = 200_000;
        function* inputs(): Iterable<DeviceInput> {
          for (let i = 0; i < total; i++)
            yield { token: token(i, 7), environment: i % 10 ? 'production' : 'sandbox' };
        }
        expect(expectOk(await store.devices.import(appId, inputs(), { batchSize: 2000 })).created).toBe(
          total,
        );
        const pageSize = 997;
        let peak = 0;
        let count = 0;
        let previous = '';
        const seen = new Set<string>();
        for await (const page of store.devices.streamAudience(appId, { all: true }, { pageSize })) {
          peak = Math.max(peak, page.devices.length);
          count += page.devices.length;
          for (const device of page.devices) seen.add(device.token);
          previous = page.cursor;
        }
        expect(previous).not.toBe('');
        expect(peak).toBe(pageSize);
        expect(count).toBe(total);
        expect(seen.size).toBe(total);
      });
    });

    describe('invalidation rule', () => {
      it('a report older than the last registration keeps the device; a newer one removes it; repeats are no-ops', async () => {
        const appId = await newApp();
        const registered = new Date('2026-04-01T12:00:00Z');
        expectOk(
          await store.devices.register(appId, { token: token(1), alias: 'a', tags: ['x'] }, registered),
        );
        const older = {
          reason: 'Unregistered',
          source: 'apns-410' as const,
          at: new Date('2026-04-01T11:00:00Z'),
        };
        const same = { ...older, at: registered };
        const newer = { ...older, at: new Date('2026-04-01T13:00:00Z') };

        expect(await store.invalidations.invalidate(appId, token(1), older)).toBe('kept-reregistered');
        expect(await store.invalidations.invalidate(appId, token(1), same)).toBe('kept-reregistered');
        expect(expectOk(await store.devices.get(appId, token(1)))).not.toBeNull();
        expect(expectOk(await store.invalidations.list(appId)).items).toEqual([]);

        const removedAt = new Date('2026-04-01T14:00:00Z');
        expect(await store.invalidations.invalidate(appId, token(1), newer, removedAt)).toBe('removed');
        expect(expectOk(await store.devices.get(appId, token(1)))).toBeNull();
        expect(await store.devices.count(appId, { tag: 'x' })).toBe(0);
        expect(await store.invalidations.invalidate(appId, token(1), newer)).toBe('already-removed');
        expect(await store.invalidations.invalidate(appId, token(2), newer)).toBe('not-found');
        const listed = expectOk(await store.invalidations.list(appId)).items;
        expect(listed).toEqual([
          {
            id: expect.any(String),
            token: token(1),
            reason: 'Unregistered',
            source: 'apns-410',
            apnsTimestamp: newer.at,
            removedAt,
          },
        ]);

        // Re-registered after removal, then an old report again: kept.
        expectOk(await store.devices.register(appId, { token: token(1) }, new Date('2026-04-02T00:00:00Z')));
        expect(await store.invalidations.invalidate(appId, token(1), newer)).toBe('kept-reregistered');
        expect(
          expectOk(await store.invalidations.list(appId, { since: new Date('2026-04-01T14:00:01Z') })).items,
        ).toEqual([]);
        expect(await store.invalidations.purge(new Date('2026-04-01T14:00:01Z'))).toBeGreaterThanOrEqual(1);
        expect(expectOk(await store.invalidations.list(appId)).items).toEqual([]);
      });

      it('invalidateMany applies the same rule in batches, repeated tokens included', async () => {
        const appId = await newApp();
        const t = new Date('2026-06-01T00:00:00Z');
        expectOk(
          await store.devices.import(
            appId,
            Array.from({ length: 3000 }, (_, i) => ({ token: token(i) })),
            { at: t },
          ),
        );
        const later = new Date(t.getTime() + 1000);
        const earlier = new Date(t.getTime() - 1000);
        const reports = [
          ...Array.from({ length: 2000 }, (_, i) => ({
            token: token(i),
            reason: 'feedback-service',
            source: 'feedback-service' as const,
            at: later,
          })),
          ...Array.from({ length: 500 }, (_, i) => ({
            token: token(2000 + i),
            reason: 'feedback-service',
            source: 'feedback-service' as const,
            at: earlier,
          })),
          { token: token(5), reason: 'feedback-service', source: 'feedback-service' as const, at: later },
          {
            token: token(99_999),
            reason: 'feedback-service',
            source: 'feedback-service' as const,
            at: later,
          },
        ];
        const counts = await store.invalidations.invalidateMany(appId, reports, { batchSize: 300 });
        expect(await store.invalidations.invalidateMany(appId, [])).toEqual({
          removed: 0,
          keptReregistered: 0,
          alreadyRemoved: 0,
          notFound: 0,
        });
        expect(counts).toEqual({ removed: 2000, keptReregistered: 500, alreadyRemoved: 1, notFound: 1 });
        expect(await store.devices.count(appId)).toBe(1000);
        let listed = 0;
        let cursor: string | null = null;
        do {
          const page: Page<Invalidation> = expectOk(
            await store.invalidations.list(appId, { cursor, limit: 1000 }),
          );
          listed += page.items.length;
          cursor = page.nextCursor;
        } while (cursor);
        expect(listed).toBe(2000);
      });

      it('invalidateMany reports each outcome to onOutcome, once per report', async () => {
        const appId = await newApp();
        const t = new Date('2026-06-01T00:00:00Z');
        expectOk(
          await store.devices.import(
            appId,
            Array.from({ length: 10 }, (_, i) => ({ token: token(i) })),
            { at: t },
          ),
        );
        const report = (n: number, at: Date) => ({
          token: token(n),
          reason: 'feedback-service',
          source: 'feedback-service' as const,
          at,
        });
        const later = new Date(t.getTime() + 1000);
        const earlier = new Date(t.getTime() - 1000);
        const seen: [string, string][] = [];
        const counts = await store.invalidations.invalidateMany(
          appId,
          [report(0, later), report(1, later), report(2, earlier), report(0, later), report(77, later)],
          { batchSize: 2, onOutcome: (r, outcome) => seen.push([r.token, outcome]) },
        );
        expect(counts).toEqual({ removed: 2, keptReregistered: 1, alreadyRemoved: 1, notFound: 1 });
        expect(seen.sort()).toEqual(
          [
            [token(0), 'removed'],
            [token(0), 'already-removed'],
            [token(1), 'removed'],
            [token(2), 'kept-reregistered'],
            [token(77), 'not-found'],
          ].sort(),
        );
      });
    });

    describe('tenant isolation', () => {
      it("app A's calls never see or change app B's devices, even for the same token", async () => {
        const a = await newApp();
        const b = await newApp();
        const at = new Date('2026-07-01T00:00:00Z');
        expectOk(await store.devices.register(a, { token: token(1), alias: 'same', tags: ['t'] }, at));
        expectOk(
          await store.devices.register(
            b,
            { token: token(1), alias: 'same', tags: ['t'], environment: 'sandbox' },
            at,
          ),
        );
        expectOk(await store.devices.register(b, { token: token(2), alias: 'same' }, at));

        expect(expectOk(await store.devices.list(a, { all: true })).items.map((d) => d.token)).toEqual([
          token(1),
        ]);
        expect(expectOk(await store.devices.list(a, { alias: 'same' })).items).toHaveLength(1);
        expect(expectOk(await store.devices.list(a, { tag: 't' })).items).toHaveLength(1);
        expect(
          (await collect(store.devices.streamAudience(a, { alias: 'same' }))).flatMap((p) => p.devices),
        ).toHaveLength(1);

        expectOk(await store.devices.unbindAllOfAlias(a, 'same'));
        expect(await store.devices.count(b, { alias: 'same' })).toBe(2);
        await store.devices.setEnvironment(a, token(1), 'sandbox');
        expectOk(await store.devices.replaceTags(a, token(1), []));
        expect(await store.devices.count(b, { tag: 't' })).toBe(1);
        expect(
          await store.invalidations.invalidate(a, token(1), {
            reason: 'Unregistered',
            source: 'apns-410',
            at: new Date(at.getTime() + 1),
          }),
        ).toBe('removed');
        expect(expectOk(await store.devices.get(b, token(1)))).toMatchObject({
          environment: 'sandbox',
          alias: 'same',
        });
        expect(expectOk(await store.invalidations.list(b)).items).toEqual([]);
        expectOk(await store.devices.delete(a, token(2)));
        expect(expectOk(await store.devices.get(b, token(2)))).not.toBeNull();

        const ntf = expectOk(
          await store.notifications.create(b, { audience: { all: true }, payload: '{}', options: {} }),
        );
        expect(await store.notifications.get(a, ntf.notification.id)).toBeNull();
        expect(await store.notifications.cancel(a, ntf.notification.id)).toBe('not-found');
        expect(
          await store.notifications.recordOutcomes(a, ntf.notification.id, [
            { token: token(1), outcome: 'accepted' },
          ]),
        ).toBe(0);
        expect((await store.notifications.get(b, ntf.notification.id))?.counts.accepted).toBe(0);
      });
    });

    describe('notifications', () => {
      it('purge deletes final notifications completed before the cutoff, with their outcomes and counts', async () => {
        const appId = await newApp();
        const otherAppId = await newApp();
        const old = new Date('2026-01-01T00:00:00Z');
        const cutoff = new Date('2026-02-01T00:00:00Z');
        const recent = new Date('2026-03-01T00:00:00Z');
        const push = { audience: { all: true as const }, payload: '{"aps":{}}', options: {} };
        async function notification(
          app: string,
          created: Date,
          final: 'done' | 'failed' | 'cancelled' | null,
          completed = created,
        ) {
          const id = expectOk(await store.notifications.create(app, push, created)).notification.id;
          expect(await store.notifications.transition(app, id, ['queued'], 'sending', { at: created })).toBe(
            true,
          );
          if (final !== null) {
            expect(await store.notifications.transition(app, id, ['sending'], final, { at: completed })).toBe(
              true,
            );
          }
          return id;
        }
        // More outcomes than one purge transaction deletes (10,000).
        const manyTokens = Array.from({ length: 12_345 }, (_, n) => token(n, 0x9e));
        const doneOld = await notification(appId, old, 'done');
        expect(
          await store.notifications.recordOutcomes(
            appId,
            doneOld,
            manyTokens.map((t) => ({ token: t, outcome: 'accepted' as const })),
          ),
        ).toBe(manyTokens.length);
        const cancelledOld = await notification(appId, old, 'cancelled');
        const failedOldOtherApp = await notification(otherAppId, old, 'failed');
        const stillSending = await notification(appId, old, null);
        const completedAfterCutoff = await notification(appId, old, 'done', recent);
        const doneRecent = await notification(appId, recent, 'done');
        const outcomes = [
          { token: token(1), outcome: 'accepted' as const },
          { token: token(2), outcome: 'rejected' as const, reason: 'BadDeviceToken' },
        ];
        for (const id of [stillSending, completedAfterCutoff, doneRecent]) {
          expect(await store.notifications.recordOutcomes(appId, id, outcomes)).toBe(2);
        }

        expect(await store.notifications.purge(cutoff)).toBe(3);
        for (const [app, id] of [
          [appId, doneOld],
          [appId, cancelledOld],
          [otherAppId, failedOldOtherApp],
        ] as const) {
          expect(await store.notifications.get(app, id)).toBeNull();
          expect(await harness.outcomeRows(id)).toBe(0);
        }
        for (const id of [stillSending, completedAfterCutoff, doneRecent]) {
          const kept = await store.notifications.get(appId, id);
          expect(kept?.counts).toMatchObject({ accepted: 1, rejected: 1 });
          expect(await harness.outcomeRows(id)).toBe(2);
          const failures = expectOk(await store.notifications.listFailures(appId, id));
          expect(failures.items.map((o) => o.token)).toEqual([token(2)]);
        }
        expect(await store.notifications.purge(cutoff)).toBe(0);
      });

      it('idempotency keys: same request returns the same notification; a different request conflicts', async () => {
        const appId = await newApp();
        const input = {
          audience: { alias: '42' },
          payload: '{"aps":{"alert":"hi"}}',
          options: { pushType: 'alert', priority: 10 },
          idempotencyKey: 'req-1',
        };
        const first = expectOk(await store.notifications.create(appId, input));
        expect(first.created).toBe(true);
        expect(first.notification).toMatchObject({
          status: 'queued',
          audience: { alias: '42' },
          payload: input.payload,
        });
        expect(first.notification.id).toMatch(/^ntf_/);
        const again = expectOk(await store.notifications.create(appId, input));
        expect(again).toEqual({ notification: first.notification, created: false });
        expectCode(
          await store.notifications.create(appId, { ...input, payload: '{"aps":{}}' }),
          'PK_ERR_IDEMPOTENCY_CONFLICT',
        );
        const concurrent = await Promise.all(
          Array.from({ length: 5 }, () =>
            store.notifications.create(appId, { ...input, idempotencyKey: 'req-2' }),
          ),
        );
        expect(new Set(concurrent.map((r) => expectOk(r).notification.id)).size).toBe(1);
        expect(concurrent.filter((r) => expectOk(r).created)).toHaveLength(1);
        const otherApp = await newApp();
        expect(expectOk(await store.notifications.create(otherApp, input)).created).toBe(true);
        expectCode(await store.notifications.create('app_nope', input), 'PK_ERR_APP_NOT_FOUND');
      });

      it('keeps counts exact when many outcome chunks of one notification commit at once', async () => {
        const appId = await newApp();
        const { notification } = expectOk(
          await store.notifications.create(appId, { audience: { all: true }, payload: '{}', options: {} }),
        );
        const id = notification.id;
        await store.notifications.checkpointFanout(appId, id, {
          cursor: 'c',
          targetedDelta: 2000,
          complete: true,
        });
        const kinds = ['accepted', 'rejected', 'invalidated', 'failed'] as const;
        // 40 chunks of 50 in parallel (counts are spread over shard rows); every 10th token is also
        // in the next chunk, and must be counted once.
        const chunkOf = (index: number) =>
          Array.from({ length: 50 }, (_, i) => {
            const n = index * 50 + i;
            return { token: token(n), outcome: kinds[n % 4]! };
          }).concat(
            index < 39 ? [{ token: token((index + 1) * 50), outcome: kinds[((index + 1) * 50) % 4]! }] : [],
          );
        const inserted = await Promise.all(
          Array.from({ length: 40 }, (_, index) =>
            store.notifications.recordOutcomes(appId, id, chunkOf(index)),
          ),
        );
        expect(inserted.reduce((sum, n) => sum + n, 0)).toBe(2000);
        const expected = {
          targeted: 2000,
          accepted: 500,
          rejected: 500,
          invalidated: 500,
          failed: 500,
          pending: 0,
        };
        expect((await store.notifications.get(appId, id))?.counts).toEqual(expected);
        const listed = expectOk(await store.notifications.list(appId)).items.find((item) => item.id === id);
        expect(listed?.counts).toEqual(expected);
      });

      it('records outcomes idempotently, keeps counts exact, pages failures, and tracks status', async () => {
        const appId = await newApp();
        const { notification } = expectOk(
          await store.notifications.create(appId, { audience: { all: true }, payload: '{}', options: {} }),
        );
        const id = notification.id;
        expect(await store.notifications.transition(appId, id, ['queued'], 'sending')).toBe(true);
        expect(await store.notifications.transition(appId, id, ['queued'], 'sending')).toBe(false);
        await store.notifications.checkpointFanout(appId, id, {
          cursor: 'c1',
          targetedDelta: 6,
          complete: false,
        });
        await store.notifications.checkpointFanout(appId, id, {
          cursor: 'c2',
          targetedDelta: 4,
          complete: true,
        });
        const batch = [
          { token: token(1), outcome: 'accepted' as const, apnsId: '00000000-0000-0000-0000-000000000001' },
          { token: token(2), outcome: 'accepted' as const },
          { token: token(3), outcome: 'rejected' as const, reason: 'PayloadTooLarge' },
          { token: token(4), outcome: 'invalidated' as const, reason: 'Unregistered' },
          { token: token(5), outcome: 'failed' as const, reason: 'PK_ERR_APNS_TIMEOUT' },
        ];
        expect(await store.notifications.recordOutcomes(appId, id, batch)).toBe(5);
        // A crash-resume re-records the same tokens (one with a different outcome): nothing moves.
        expect(
          await store.notifications.recordOutcomes(appId, id, [
            ...batch.slice(0, 2),
            { token: token(5), outcome: 'accepted' },
          ]),
        ).toBe(0);
        expect(
          await store.notifications.recordOutcomes(appId, id, [
            { token: token(6), outcome: 'rejected', reason: 'BadTopic' },
          ]),
        ).toBe(1);
        const recorded = await store.notifications.recordedTokens(appId, id, [token(1), token(6), token(7)]);
        expect([...recorded].sort()).toEqual([token(1), token(6)]);
        let current = await store.notifications.get(appId, id);
        expect(current?.counts).toEqual({
          targeted: 10,
          accepted: 2,
          rejected: 2,
          invalidated: 1,
          failed: 1,
          pending: 4,
        });
        expect(current).toMatchObject({ status: 'sending', fanoutCursor: 'c2', fanoutComplete: true });
        expect(current?.startedAt).toBeInstanceOf(Date);

        const failures: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Page<Outcome> = expectOk(
            await store.notifications.listFailures(appId, id, { cursor, limit: 2 }),
          );
          failures.push(
            ...page.items.map((item) => `${item.token.slice(-1)}:${item.outcome}:${item.reason}`),
          );
          cursor = page.nextCursor;
        } while (cursor);
        expect(failures).toEqual([
          '3:rejected:PayloadTooLarge',
          '4:invalidated:Unregistered',
          '5:failed:PK_ERR_APNS_TIMEOUT',
          '6:rejected:BadTopic',
        ]);

        const resumable = expectOk(await store.notifications.listResumable({ limit: 1000 })).items.map(
          (n) => n.id,
        );
        expect(resumable).toContain(id);
        expect(await store.notifications.transition(appId, id, ['sending'], 'done')).toBe(true);
        current = await store.notifications.get(appId, id);
        expect(current?.status).toBe('done');
        expect(current?.completedAt).toBeInstanceOf(Date);
        expect(await store.notifications.cancel(appId, id)).toBe('already-final');
        expect(
          expectOk(await store.notifications.listResumable({ limit: 1000 })).items.map((n) => n.id),
        ).not.toContain(id);
      });

      it('cancels what is not final, lists notifications newest first', async () => {
        const appId = await newApp();
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const created = expectOk(
            await store.notifications.create(
              appId,
              { audience: { all: true }, payload: `{"n":${i}}`, options: {} },
              new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
            ),
          );
          ids.push(created.notification.id);
        }
        expect(await store.notifications.cancel(appId, ids[0]!)).toBe('cancelled');
        expect(await store.notifications.transition(appId, ids[0]!, ['queued', 'sending'], 'done')).toBe(
          false,
        );
        expect((await store.notifications.get(appId, ids[0]!))?.status).toBe('cancelled');
        expect(await store.notifications.cancel(appId, 'ntf_missing')).toBe('not-found');
        expect(
          await store.notifications.transition(appId, ids[1]!, ['queued'], 'failed', {
            failureReason: 'credentials unhealthy',
          }),
        ).toBe(true);
        expect((await store.notifications.get(appId, ids[1]!))?.failureReason).toBe('credentials unhealthy');
        const listed: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Page<Notification> = expectOk(
            await store.notifications.list(appId, { cursor, limit: 2 }),
          );
          listed.push(...page.items.map((n) => n.id));
          cursor = page.nextCursor;
        } while (cursor);
        // Newest first, across pages.
        expect(listed).toEqual([...ids].reverse());
      });
    });

    describe('send-batch checkpoints', () => {
      batchCheckpointTests({ store: () => store, newApp: () => newApp(), token });
    });

    describe('feedback polls', () => {
      it('records the last poll per app', async () => {
        const appId = await newApp();
        expect(await store.feedbackPolls.get(appId)).toBeNull();
        const at = new Date('2026-08-01T00:00:00Z');
        await store.feedbackPolls.record(appId, at, { tuples: 3 });
        await store.feedbackPolls.record(appId, new Date(at.getTime() + 1), { tuples: 4 });
        expect(await store.feedbackPolls.get(appId)).toEqual({
          appId,
          lastPollAt: new Date(at.getTime() + 1),
          summary: { tuples: 4 },
        });
        expectOk(
          await store.apps.update(appId, {
            feedback: { host: '127.0.0.1', port: 2196, intervalHours: 12, caPem: null },
          }),
        );
        expect((await store.apps.listWithFeedback()).map((app) => app.id)).toContain(appId);
      });

      it('claim admits exactly one caller per (app, slot), across store instances', async () => {
        const a = await newApp();
        const b = await newApp();
        const slot = new Date('2026-08-01T12:00:00Z');
        const other = harness.openStore(secretKey);
        try {
          const results = await Promise.all(
            Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? store : other).feedbackPolls.claim(a, slot)),
          );
          expect(results.filter(Boolean)).toHaveLength(1);
          expect(await other.feedbackPolls.claim(a, slot)).toBe(false);
          // Another app, or the next slot, is a separate claim.
          expect(await other.feedbackPolls.claim(b, slot)).toBe(true);
          expect(await store.feedbackPolls.claim(a, new Date(slot.getTime() + 12 * 3_600_000))).toBe(true);
          expect(await store.feedbackPolls.claim('app_unknown', slot)).toBe(false);
        } finally {
          await other.close();
        }
      });

      it('claims far behind the slot being claimed are pruned', async () => {
        const appId = await newApp();
        const old = new Date('2026-01-01T00:00:00Z');
        expect(await store.feedbackPolls.claim(appId, old)).toBe(true);
        // 29 days on: the old claim is still held.
        expect(await store.feedbackPolls.claim(appId, new Date(old.getTime() + 29 * 86_400_000))).toBe(true);
        expect(await store.feedbackPolls.claim(appId, old)).toBe(false);
        // 31 days on: the old row is gone, so the (long past) slot could be claimed again.
        expect(await store.feedbackPolls.claim(appId, new Date(old.getTime() + 31 * 86_400_000))).toBe(true);
        expect(await store.feedbackPolls.claim(appId, old)).toBe(true);
      });
    });

    it('errors thrown by the store are catalogue errors', async () => {
      await expect(
        collect(store.devices.streamAudience('app_x', { all: true }, { pageSize: 0 })),
      ).rejects.toSatisfy((error: unknown) => isPushkeeperError(error) && error.code === 'PK_ERR_VALIDATION');
    });
  });
}
