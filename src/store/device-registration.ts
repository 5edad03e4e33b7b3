/**
 * One register call in as few statements as possible — the API's hottest write (`npm run bench:api`):
 *
 * 1. one upsert that also finds the app's key and so checks the app (`INSERT … SELECT … FROM
 *    app_keys WHERE app_id = ?` inserts nothing for an unknown app) and returns the whole device
 *    with `registrations` (1 = created), so nothing is read before or after it;
 * 2. only when tags are given: the device's tag rows are replaced (a delete, skipped for a new
 *    device, and one multi-row insert).
 *
 * The rule is the bulk upsert's (devices.ts, `upsertDevices`): absent fields keep stored values on a
 * refresh and take the defaults on creation; every call refreshes last_registered_at, counts the
 * registration and clears invalid_since. The store conformance suite holds both paths to it.
 * Statements are compiled once per shape (compiled-statement.ts).
 */
import type { Kysely } from 'kysely';
import { CompiledStatement } from './compiled-statement.ts';
import { DEVICE_COLUMNS, type DeviceRow, tokenBytes } from './rows.ts';
import type { Database } from './schema.ts';

/** A validated register call (devices.ts `ParsedDeviceInput`): a field is present only if given. */
export interface RegistrationFields {
  readonly token: string;
  readonly environment?: string;
  readonly alias?: string | null;
  readonly tags?: readonly string[];
  readonly locale?: string | null;
}

export type RegisteredRow = DeviceRow & {
  readonly id: number;
  readonly registrations: number;
  readonly app_key: number;
};

/** [appId, token bytes, environment, alias, tags JSON, locale, at ms] */
type UpsertValues = readonly [string, Uint8Array, string, string | null, string, string | null, number];

const ENVIRONMENT = 1;
const ALIAS = 2;
const TAGS = 4;
const LOCALE = 8;

function upsertStatement(shape: number): CompiledStatement<UpsertValues> {
  return new CompiledStatement<UpsertValues>((db, slot) =>
    db
      .insertInto('devices')
      .columns([
        'app_key',
        'token',
        'environment',
        'alias',
        'tags',
        'locale',
        'created_at',
        'last_registered_at',
      ])
      .expression(
        db
          .selectFrom('app_keys')
          .select((eb) => [
            'app_keys.key as app_key',
            eb.val<Uint8Array>(slot(1)).as('token'),
            eb.val<string>(slot(2)).as('environment'),
            eb.val<string | null>(slot(3)).as('alias'),
            eb.val<string>(slot(4)).as('tags'),
            eb.val<string | null>(slot(5)).as('locale'),
            eb.val<number>(slot(6)).as('created_at'),
            eb.val<number>(slot(6)).as('last_registered_at'),
          ])
          .where('app_keys.app_id', '=', slot(0)),
      )
      .onConflict((conflict) =>
        conflict.columns(['app_key', 'token']).doUpdateSet((eb) => ({
          last_registered_at: eb.ref('excluded.last_registered_at'),
          registrations: eb('devices.registrations', '+', 1),
          invalid_since: null,
          invalid_reason: null,
          ...(shape & ENVIRONMENT ? { environment: eb.ref('excluded.environment') } : {}),
          ...(shape & ALIAS ? { alias: eb.ref('excluded.alias') } : {}),
          ...(shape & TAGS ? { tags: eb.ref('excluded.tags') } : {}),
          ...(shape & LOCALE ? { locale: eb.ref('excluded.locale') } : {}),
        })),
      )
      .returning(['id', 'registrations', 'app_key', ...DEVICE_COLUMNS]),
  );
}

/** [appKey, deviceId, ...tags] */
function insertTagsStatement(count: number): CompiledStatement<readonly unknown[]> {
  return new CompiledStatement<readonly unknown[]>((db, slot) =>
    db
      .insertInto('device_tags')
      .values(
        Array.from({ length: count }, (_, i) => ({ app_key: slot(0), device_id: slot(1), tag: slot(2 + i) })),
      ),
  );
}

/** The statements of one store (one database: the SQL text is the dialect's). */
export class DeviceRegistration {
  readonly #upserts = new Map<number, CompiledStatement<UpsertValues>>();
  readonly #tagInserts = new Map<number, CompiledStatement<readonly unknown[]>>();
  /** [deviceId] */
  readonly #deleteTags = new CompiledStatement<readonly [number]>((db, slot) =>
    db.deleteFrom('device_tags').where('device_id', '=', slot(0)),
  );

  /**
   * The device after the call, or null when the app does not exist (nothing was written) or the
   * token is not hex (parseDeviceToken rules that out before).
   */
  async register(
    db: Kysely<Database>,
    appId: string,
    fields: RegistrationFields,
    atMs: number,
  ): Promise<RegisteredRow | null> {
    const shape =
      (fields.environment !== undefined ? ENVIRONMENT : 0) |
      (fields.alias !== undefined ? ALIAS : 0) |
      (fields.tags !== undefined ? TAGS : 0) |
      (fields.locale !== undefined ? LOCALE : 0);
    const token = tokenBytes(fields.token);
    if (token === null) return null;
    let upsert = this.#upserts.get(shape);
    if (upsert === undefined) {
      upsert = upsertStatement(shape);
      this.#upserts.set(shape, upsert);
    }
    const rows = await upsert.execute<RegisteredRow>(db, [
      appId,
      token,
      fields.environment ?? 'production',
      fields.alias ?? null,
      JSON.stringify(fields.tags ?? []),
      fields.locale ?? null,
      atMs,
    ]);
    const row = rows[0];
    if (row === undefined) return null;
    if (fields.tags !== undefined) {
      const deviceId = Number(row.id);
      if (Number(row.registrations) !== 1) await this.#deleteTags.execute(db, [deviceId]);
      if (fields.tags.length > 0) {
        let insert = this.#tagInserts.get(fields.tags.length);
        if (insert === undefined) {
          insert = insertTagsStatement(fields.tags.length);
          this.#tagInserts.set(fields.tags.length, insert);
        }
        await insert.execute(db, [Number(row.app_key), deviceId, ...fields.tags]);
      }
    }
    return row;
  }
}
