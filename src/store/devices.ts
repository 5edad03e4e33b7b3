/**
 * The device registry: register/refresh (one upsert path shared by single calls and bulk import),
 * aliases, tags, keyset listing, export, and the pipeline's upkeep writes.
 */
import type { Kysely } from 'kysely';
import {
  type DeviceToken,
  type Environment,
  fail,
  MAX_TAGS_PER_DEVICE,
  ok,
  parseAlias,
  parseDeviceToken,
  parseEnvironment,
  parseLocale,
  parseTag,
  parseTags,
  problem,
  type Result,
} from '../domain/index.ts';
import { appNotFound } from './app-exists.ts';
import { appKeyOf, readAppKey } from './app-keys.ts';
import { AudienceStatements, streamAudience } from './audience-stream.ts';
import type { StoreCapabilities } from './connection.ts';
import type {
  AliasBindResult,
  Device,
  DeviceFilter,
  DeviceInput,
  DeviceStore,
  ImportCounts,
  ImportOptions,
  Page,
  PageRequest,
  RegisterResult,
} from './contract.ts';
import { BulkUpsert } from './bulk-upsert.ts';
import { type CursorSealer, parseLimit } from './cursor.ts';
import { DeviceRegistration } from './device-registration.ts';
import { markDevicesSucceeded } from './device-success.ts';
import { DEVICE_COLUMNS, toDevice, toMs, tokenBytes } from './rows.ts';
import type { Database } from './schema.ts';
import { GroupCommit } from './group-commit.ts';
import { inTokenOrder } from './token-order.ts';

/** A validated register call: a field is present only if the caller gave it. */
export interface ParsedDeviceInput {
  token: DeviceToken;
  environment?: Environment;
  alias?: string | null;
  tags?: readonly string[];
  locale?: string | null;
}

export function parseDeviceInput(input: DeviceInput): Result<ParsedDeviceInput> {
  if (typeof input !== 'object' || input === null) {
    return fail(problem('PK_ERR_VALIDATION', 'A device must be an object.', 'not-object'));
  }
  const token = parseDeviceToken(input.token);
  if (!token.ok) return token;
  const parsed: ParsedDeviceInput = { token: token.value };
  if (input.environment !== undefined) {
    const environment = parseEnvironment(input.environment);
    if (!environment.ok) return environment;
    parsed.environment = environment.value;
  }
  if (input.alias !== undefined) {
    if (input.alias === null) parsed.alias = null;
    else {
      const alias = parseAlias(input.alias);
      if (!alias.ok) return alias;
      parsed.alias = alias.value;
    }
  }
  if (input.tags !== undefined) {
    const tags = parseTags(input.tags);
    if (!tags.ok) return tags;
    parsed.tags = tags.value;
  }
  if (input.locale !== undefined) {
    if (input.locale === null) parsed.locale = null;
    else {
      const locale = parseLocale(input.locale);
      if (!locale.ok) return locale;
      parsed.locale = locale.value;
    }
  }
  return ok(parsed);
}

function deviceNotFound() {
  return fail(problem('PK_ERR_DEVICE_NOT_FOUND', 'Device not found.', 'unknown-token'));
}

/**
 * One row per token, in token order: later entries for the same token override earlier ones field
 * by field (as sequential calls would). Token order is what the bulk upsert wants (bulk-upsert.ts).
 * The sort is stable (token-order.ts), so repeated tokens end up next to each other in input order
 * and merge in one pass, with no Map from token to row (a third of this function's time was one).
 */
function mergeByToken(rows: readonly ParsedDeviceInput[]): ParsedDeviceInput[] {
  const sorted = inTokenOrder(rows, (row) => row.token);
  let last = -1;
  for (const row of sorted) {
    const previous = last >= 0 ? sorted[last]! : undefined;
    if (previous !== undefined && previous.token === row.token) sorted[last] = { ...previous, ...row };
    else sorted[++last] = row;
  }
  sorted.length = last + 1;
  return sorted;
}

type FilterParse = Result<
  | { kind: 'alias'; alias: string }
  | { kind: 'tag'; tag: string }
  | { kind: 'environment'; environment: Environment }
  | { kind: 'all' }
>;

function parseFilter(filter: DeviceFilter): FilterParse {
  if ('alias' in filter) {
    const alias = parseAlias(filter.alias);
    return alias.ok ? ok({ kind: 'alias', alias: alias.value }) : alias;
  }
  if ('tag' in filter) {
    const tag = parseTag(filter.tag);
    return tag.ok ? ok({ kind: 'tag', tag: tag.value }) : tag;
  }
  if ('environment' in filter) {
    const environment = parseEnvironment(filter.environment);
    return environment.ok ? ok({ kind: 'environment', environment: environment.value }) : environment;
  }
  return ok({ kind: 'all' });
}

/**
 * Rows per import transaction, at most. Each commit writes every page it dirtied; a random-order
 * import dirties pages all over the token and alias indexes, so larger transactions write each page
 * fewer times (docs/store.md has the measurements).
 */
const MAX_IMPORT_BATCH = 100_000;

/** Registrations per group commit: bounds how long the first caller of a burst waits. */
const MAX_GROUP_COMMIT = 256;

/** SQLITE_CONSTRAINT (19), extended codes included: SQLite undid the statement, the transaction goes on. */
function isConstraintError(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === 'number' && (errcode & 0xff) === 19;
}

interface Registration {
  readonly appId: string;
  readonly input: ParsedDeviceInput;
  readonly atMs: number;
}

/** Imports at least this large refresh the planner's statistics when they finish. */
const STATISTICS_AFTER_ROWS = 10_000;

export class SqlDeviceStore implements DeviceStore {
  readonly #db: Kysely<Database>;
  readonly #capabilities: Pick<StoreCapabilities, 'refreshStatistics' | 'withBulkWriteCache' | 'groupCommit'>;
  /** The import's statements, compiled once per shape and size (bulk-upsert.ts). */
  readonly #bulkUpsert: BulkUpsert;
  /** The hot audience page queries, compiled once (audience-stream.ts). */
  readonly #audiencePages: AudienceStatements;
  /** Registrations of one event-loop turn share a transaction (SQLite; see group-commit.ts). */
  readonly #registrations: GroupCommit<Registration, Result<RegisterResult>>;
  /** The register call's statements, compiled once (device-registration.ts). */
  readonly #registration = new DeviceRegistration();
  readonly #cursors: CursorSealer;

  constructor(
    db: Kysely<Database>,
    capabilities: Pick<
      StoreCapabilities,
      | 'refreshStatistics'
      | 'withBulkWriteCache'
      | 'groupCommit'
      | 'maxBindParameters'
      | 'rowLocks'
      | 'bytesAsHex'
    >,
    cursors: CursorSealer,
  ) {
    this.#cursors = cursors;
    this.#db = db;
    this.#capabilities = capabilities;
    this.#audiencePages = new AudienceStatements(capabilities.bytesAsHex);
    this.#bulkUpsert = new BulkUpsert({
      maxBindParameters: capabilities.maxBindParameters,
      // No row locks: BEGIN IMMEDIATE serialises writers (connection.ts).
      serialWriters: !capabilities.rowLocks,
    });
    this.#registrations = new GroupCommit({
      db,
      maxGroup: MAX_GROUP_COMMIT,
      run: (trx, call) => this.#registerIn(trx, call.appId, call.input, call.atMs),
      isStatementError: isConstraintError,
    });
  }

  async register(appId: string, input: DeviceInput, at: Date = new Date()): Promise<Result<RegisterResult>> {
    const parsed = parseDeviceInput(input);
    if (!parsed.ok) return parsed;
    const atMs = toMs(at);
    if (this.#capabilities.groupCommit)
      return this.#registrations.submit({ appId, input: parsed.value, atMs });
    // Without tags the call is one statement, atomic by itself: no transaction round trips.
    if (parsed.value.tags === undefined) return this.#registerIn(this.#db, appId, parsed.value, atMs);
    return this.#db.transaction().execute((trx) => this.#registerIn(trx, appId, parsed.value, atMs));
  }

  async #registerIn(
    trx: Kysely<Database>,
    appId: string,
    input: ParsedDeviceInput,
    atMs: number,
  ): Promise<Result<RegisterResult>> {
    const row = await this.#registration.register(trx, appId, input, atMs);
    if (row === null) return appNotFound();
    return ok({ device: toDevice(row), created: Number(row.registrations) === 1 });
  }

  async #read(db: Kysely<Database>, appId: string, token: string): Promise<Device | null> {
    const bytes = tokenBytes(token);
    if (bytes === null) return null;
    const row = await db
      .selectFrom('devices')
      .select(DEVICE_COLUMNS)
      .where('app_key', '=', appKeyOf(db, appId))
      .where('token', '=', bytes)
      .executeTakeFirst();
    return row ? toDevice(row) : null;
  }

  async get(appId: string, token: string): Promise<Result<Device | null>> {
    const parsed = parseDeviceToken(token);
    if (!parsed.ok) return parsed;
    return ok(await this.#read(this.#db, appId, parsed.value));
  }

  async delete(appId: string, token: string): Promise<Result<boolean>> {
    const parsed = parseDeviceToken(token);
    if (!parsed.ok) return parsed;
    const bytes = tokenBytes(parsed.value);
    if (bytes === null) return ok(false);
    const result = await this.#db
      .deleteFrom('devices')
      .where('app_key', '=', appKeyOf(this.#db, appId))
      .where('token', '=', bytes)
      .executeTakeFirst();
    return ok(Number(result.numDeletedRows) > 0);
  }

  async bindAlias(appId: string, token: string, alias: string): Promise<Result<AliasBindResult>> {
    const parsedToken = parseDeviceToken(token);
    if (!parsedToken.ok) return parsedToken;
    const parsedAlias = parseAlias(alias);
    if (!parsedAlias.ok) return parsedAlias;
    const bytes = tokenBytes(parsedToken.value);
    if (bytes === null) return deviceNotFound();
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('devices')
        .select(['id', 'alias'])
        .where('app_key', '=', appKeyOf(trx, appId))
        .where('token', '=', bytes)
        .executeTakeFirst();
      if (!row) return deviceNotFound();
      // One alias per device: binding moves the device away from whoever had it before.
      await trx.updateTable('devices').set({ alias: parsedAlias.value }).where('id', '=', row.id).execute();
      return ok({ previousAlias: row.alias });
    });
  }

  async unbindAlias(appId: string, token: string): Promise<Result<boolean>> {
    const parsed = parseDeviceToken(token);
    if (!parsed.ok) return parsed;
    const bytes = tokenBytes(parsed.value);
    if (bytes === null) return ok(false);
    const result = await this.#db
      .updateTable('devices')
      .set({ alias: null })
      .where('app_key', '=', appKeyOf(this.#db, appId))
      .where('token', '=', bytes)
      .executeTakeFirst();
    return ok(Number(result.numUpdatedRows) > 0);
  }

  async unbindAllOfAlias(appId: string, alias: string): Promise<Result<number>> {
    const parsed = parseAlias(alias);
    if (!parsed.ok) return parsed;
    const result = await this.#db
      .updateTable('devices')
      .set({ alias: null })
      .where('app_key', '=', appKeyOf(this.#db, appId))
      .where('alias', '=', parsed.value)
      .executeTakeFirst();
    return ok(Number(result.numUpdatedRows));
  }

  addTags(appId: string, token: string, tags: readonly string[]): Promise<Result<Device>> {
    return this.#changeTags(appId, token, tags, (current, given) => new Set([...current, ...given]));
  }

  removeTags(appId: string, token: string, tags: readonly string[]): Promise<Result<Device>> {
    return this.#changeTags(appId, token, tags, (current, given) => {
      const next = new Set(current);
      for (const tag of given) next.delete(tag);
      return next;
    });
  }

  replaceTags(appId: string, token: string, tags: readonly string[]): Promise<Result<Device>> {
    return this.#changeTags(appId, token, tags, (_current, given) => new Set(given));
  }

  async #changeTags(
    appId: string,
    token: string,
    tags: readonly string[],
    next: (current: readonly string[], given: readonly string[]) => Set<string>,
  ): Promise<Result<Device>> {
    const parsedToken = parseDeviceToken(token);
    if (!parsedToken.ok) return parsedToken;
    const parsedTags = parseTags(tags);
    if (!parsedTags.ok) return parsedTags;
    const bytes = tokenBytes(parsedToken.value);
    if (bytes === null) return deviceNotFound();
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('devices')
        .select(['id', 'app_key', 'tags'])
        .where('app_key', '=', appKeyOf(trx, appId))
        .where('token', '=', bytes)
        .executeTakeFirst();
      if (!row) return deviceNotFound();
      const current = JSON.parse(row.tags) as string[];
      const updated = [...next(current, parsedTags.value)].sort();
      if (updated.length > MAX_TAGS_PER_DEVICE) {
        return fail(
          problem('PK_ERR_TAG_INVALID', `A device has at most ${MAX_TAGS_PER_DEVICE} tags.`, 'too-many', {
            limit: MAX_TAGS_PER_DEVICE,
          }),
        );
      }
      const removed = current.filter((tag) => !updated.includes(tag));
      const added = updated.filter((tag) => !current.includes(tag));
      await trx
        .updateTable('devices')
        .set({ tags: JSON.stringify(updated) })
        .where('id', '=', row.id)
        .execute();
      if (removed.length > 0) {
        await trx
          .deleteFrom('device_tags')
          .where('app_key', '=', row.app_key)
          .where('device_id', '=', row.id)
          .where('tag', 'in', removed)
          .execute();
      }
      if (added.length > 0) {
        await trx
          .insertInto('device_tags')
          .values(added.map((tag) => ({ app_key: row.app_key, tag, device_id: row.id })))
          .execute();
      }
      return ok((await this.#read(trx, appId, parsedToken.value))!);
    });
  }

  async list(appId: string, filter: DeviceFilter, page: PageRequest = {}): Promise<Result<Page<Device>>> {
    const parsedFilter = parseFilter(filter);
    if (!parsedFilter.ok) return parsedFilter;
    const limit = parseLimit(page.limit);
    if (!limit.ok) return limit;
    const cursor = this.#cursors.open('devices', appId, page.cursor, { i: 'int' });
    if (!cursor.ok) return cursor;
    const afterId = cursor.value === null ? 0 : Number(cursor.value.i);
    const f = parsedFilter.value;
    const take = limit.value + 1;
    let rows: ({ id: number } & Parameters<typeof toDevice>[0])[];
    if (f.kind === 'tag') {
      rows = await this.#db
        .selectFrom('device_tags as t')
        .innerJoin('devices as d', 'd.id', 't.device_id')
        .select(['d.id', ...DEVICE_COLUMNS.map((column) => `d.${column}` as const)])
        .where('t.app_key', '=', appKeyOf(this.#db, appId))
        .where('t.tag', '=', f.tag)
        .where('t.device_id', '>', afterId)
        .orderBy('t.device_id')
        .limit(take)
        .execute();
    } else {
      let query = this.#db
        .selectFrom('devices')
        .select(['id', ...DEVICE_COLUMNS])
        .where('app_key', '=', appKeyOf(this.#db, appId))
        .where('id', '>', afterId);
      if (f.kind === 'alias') query = query.where('alias', '=', f.alias);
      if (f.kind === 'environment') query = query.where('environment', '=', f.environment);
      rows = await query.orderBy('id').limit(take).execute();
    }
    const more = rows.length > limit.value;
    const items = more ? rows.slice(0, limit.value) : rows;
    const last = items.at(-1);
    return ok({
      items: items.map(toDevice),
      nextCursor: more && last ? this.#cursors.seal('devices', appId, { i: Number(last.id) }) : null,
    });
  }

  async count(appId: string, filter: DeviceFilter = { all: true }): Promise<number> {
    const parsedFilter = parseFilter(filter);
    if (!parsedFilter.ok) return 0;
    const f = parsedFilter.value;
    if (f.kind === 'tag') {
      const row = await this.#db
        .selectFrom('device_tags')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('app_key', '=', appKeyOf(this.#db, appId))
        .where('tag', '=', f.tag)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }
    let query = this.#db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('app_key', '=', appKeyOf(this.#db, appId));
    if (f.kind === 'alias') query = query.where('alias', '=', f.alias);
    if (f.kind === 'environment') query = query.where('environment', '=', f.environment);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  streamAudience: DeviceStore['streamAudience'] = (appId, audience, options) =>
    streamAudience(this.#db, this.#audiencePages, appId, audience, options);

  async import(
    appId: string,
    devices: AsyncIterable<DeviceInput> | Iterable<DeviceInput>,
    options: ImportOptions = {},
  ): Promise<Result<ImportCounts>> {
    const batchSize = options.batchSize ?? 1000;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_IMPORT_BATCH) {
      return fail(problem('PK_ERR_VALIDATION', 'batchSize must be from 1 to 100,000.', 'batch-size'));
    }
    const appKey = await readAppKey(this.#db, appId);
    if (appKey === null) return appNotFound();
    let created = 0;
    let updated = 0;
    let rejected = 0;
    let index = 0;
    let batch: ParsedDeviceInput[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const rows = mergeByToken(batch);
      batch = [];
      const atMs = toMs(options.at ?? new Date());
      const result = await this.#db
        .transaction()
        .execute((trx) => this.#bulkUpsert.upsert(trx, appKey, rows, atMs));
      created += result.created;
      updated += rows.length - result.created;
      options.onProgress?.({ created, updated, rejected });
    };
    // cache_size is a cap, not an allocation: a three-line import costs nothing extra.
    /** Takes one input; true when the batch is full. */
    const take = (input: DeviceInput): boolean => {
      const parsed = parseDeviceInput(input);
      if (parsed.ok) batch.push(parsed.value);
      else {
        rejected += 1;
        options.onRejected?.(index, parsed.error);
      }
      index += 1;
      return batch.length >= batchSize;
    };
    await this.#capabilities.withBulkWriteCache(this.#db, async () => {
      // `for await` over a plain iterable awaits every item (a microtask each: ~3% of an import
      // of 1,000,000); a synchronous source is read synchronously between flushes.
      if (Symbol.iterator in devices) {
        for (const input of devices) if (take(input)) await flush();
      } else {
        for await (const input of devices) if (take(input)) await flush();
      }
      await flush();
    });
    if (created + updated >= STATISTICS_AFTER_ROWS) await this.#capabilities.refreshStatistics(this.#db);
    return ok({ created, updated, rejected });
  }

  async *export(appId: string, options: { readonly pageSize?: number } = {}): AsyncIterable<Device> {
    const pageSize = Math.max(1, Math.min(options.pageSize ?? 1000, 10_000));
    let afterId = 0;
    for (;;) {
      const rows = await this.#db
        .selectFrom('devices')
        .select(['id', ...DEVICE_COLUMNS])
        .where('app_key', '=', appKeyOf(this.#db, appId))
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(pageSize)
        .execute();
      for (const row of rows) yield toDevice(row);
      if (rows.length < pageSize) return;
      afterId = Number(rows.at(-1)!.id);
    }
  }

  async setEnvironment(appId: string, token: DeviceToken, environment: Environment): Promise<boolean> {
    const bytes = tokenBytes(token);
    if (bytes === null) return false;
    const result = await this.#db
      .updateTable('devices')
      .set({ environment })
      .where('app_key', '=', appKeyOf(this.#db, appId))
      .where('token', '=', bytes)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async markSuccess(appId: string, tokens: readonly DeviceToken[], at: Date): Promise<void> {
    await markDevicesSucceeded(this.#db, appId, tokens, toMs(at));
  }

  async markInvalid(
    appId: string,
    token: DeviceToken,
    mark: { readonly reason: string; readonly at: Date },
  ): Promise<boolean> {
    const bytes = tokenBytes(token);
    if (bytes === null) return false;
    const result = await this.#db
      .updateTable('devices')
      .set({ invalid_since: toMs(mark.at), invalid_reason: mark.reason })
      .where('app_key', '=', appKeyOf(this.#db, appId))
      .where('token', '=', bytes)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
