/**
 * Apps and their secrets. Credentials and the webhook secret are encrypted with the app id and
 * topic as associated data, so changing the topic re-encrypts them in the same transaction.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import { fail, isProviderHealthStatus, ok, problem, type ProviderHealth, type Result } from '../domain/index.ts';
import type {
  ApnsCredentials,
  App,
  AppEndpoints,
  AppFeedbackSettings,
  AppSecrets,
  AppStore,
  AppWebhook,
  CreateAppInput,
  Page,
  PageRequest,
  UpdateAppInput,
} from './contract.ts';
import type { StoreCapabilities } from './connection.ts';
import type { CredentialCipher } from './credential-cipher.ts';
import { decodeCursor, encodeCursor, parseLimit } from './cursor.ts';
import { newId } from './ids.ts';
import { toDate, toMs } from './rows.ts';
import type { AppsTable, Database } from './schema.ts';

const APP_COLUMNS = [
  'id',
  'name',
  'topic',
  'auth_kind',
  'endpoints',
  'feedback',
  'webhook_url',
  'health_status',
  'health_reason',
  'health_since',
  'created_at',
  'updated_at',
] as const;

type AppRow = Pick<Selectable<AppsTable>, (typeof APP_COLUMNS)[number]>;

/** Rows written before the statuses were told apart say `unhealthy`: APNs had refused the credentials. */
function toHealth(row: Pick<AppRow, 'health_status' | 'health_reason' | 'health_since'>): ProviderHealth {
  const status = row.health_status === 'unhealthy' ? 'unauthorized' : row.health_status;
  if (!isProviderHealthStatus(status) || status === 'healthy') return { status: 'healthy' };
  return { status, reason: row.health_reason ?? '', since: toDate(row.health_since ?? 0) };
}

function toApp(row: AppRow): App {
  const health = toHealth(row);
  return {
    id: row.id,
    name: row.name,
    topic: row.topic,
    authKind: row.auth_kind as ApnsCredentials['auth'],
    endpoints: row.endpoints === null ? null : (JSON.parse(row.endpoints) as AppEndpoints),
    feedback: row.feedback === null ? null : (JSON.parse(row.feedback) as AppFeedbackSettings),
    webhookUrl: row.webhook_url,
    apnsHealth: health,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

const APP_ID = /^[A-Za-z0-9_-]{1,64}$/;

function invalid(message: string, reason: string) {
  return fail(problem('PK_ERR_VALIDATION', message, reason));
}

/** Shape checks only; whether a key or certificate works is the APNs layer's question. */
function checkCredentials(credentials: unknown): Result<ApnsCredentials> {
  const c = credentials as Record<string, unknown> | null;
  const isText = (value: unknown) => typeof value === 'string' && value.length > 0;
  const bad = () =>
    fail(problem('PK_ERR_CREDENTIALS_INVALID', 'The APNs credentials are not valid.', 'shape'));
  if (typeof c !== 'object' || c === null) return bad();
  if (c['passphrase'] !== undefined && typeof c['passphrase'] !== 'string') return bad();
  if (c['auth'] === 'token' && isText(c['teamId']) && isText(c['keyId']) && isText(c['privateKey'])) {
    return ok(c as ApnsCredentials);
  }
  if (
    c['auth'] === 'certificate' &&
    ((isText(c['certPem']) && isText(c['keyPem'])) || isText(c['p12Base64']))
  ) {
    return ok(c as ApnsCredentials);
  }
  return bad();
}

function checkWebhook(webhook: AppWebhook | null | undefined): Result<void> {
  if (webhook === null || webhook === undefined) return ok(undefined);
  let url: URL | undefined;
  try {
    url = new URL(webhook.url);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || typeof webhook.secret !== 'string') {
    return fail(problem('PK_ERR_WEBHOOK_INVALID', 'The webhook needs an http(s) url and a secret.', 'shape'));
  }
  return ok(undefined);
}

export class SqlAppStore implements AppStore {
  readonly #db: Kysely<Database>;
  readonly #cipher: CredentialCipher;

  readonly #rowLocks: boolean;

  constructor(
    db: Kysely<Database>,
    cipher: CredentialCipher,
    capabilities: Pick<StoreCapabilities, 'rowLocks'>,
  ) {
    this.#db = db;
    this.#cipher = cipher;
    this.#rowLocks = capabilities.rowLocks;
  }

  #seal(appId: string, topic: string, credentials: ApnsCredentials, webhook: AppWebhook | null) {
    return {
      credentials: this.#cipher.encrypt(JSON.stringify(credentials), {
        appId,
        topic,
        purpose: 'credentials',
      }),
      webhook_url: webhook?.url ?? null,
      webhook_secret: webhook
        ? this.#cipher.encrypt(webhook.secret, { appId, topic, purpose: 'webhook-secret' })
        : null,
    };
  }

  async create(input: CreateAppInput, at: Date = new Date()): Promise<Result<App>> {
    const id = input.id ?? newId('app', at);
    if (!APP_ID.test(id)) return invalid('An app id is 1-64 letters, digits, _ or -.', 'app-id');
    if (typeof input.name !== 'string' || input.name.length === 0 || input.name.length > 200) {
      return invalid('The app name must be 1-200 characters.', 'name');
    }
    if (typeof input.topic !== 'string' || input.topic.length === 0 || input.topic.length > 255) {
      return fail(problem('PK_ERR_TOPIC_INVALID', 'The topic must be the bundle id.', 'topic'));
    }
    const credentials = checkCredentials(input.credentials);
    if (!credentials.ok) return credentials;
    const webhook = checkWebhook(input.webhook);
    if (!webhook.ok) return webhook;
    const atMs = toMs(at);
    // The app and its integer key (app-keys.ts) are created together: devices are stored under the key.
    return this.#db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('apps')
        .values({
          id,
          name: input.name,
          topic: input.topic,
          auth_kind: credentials.value.auth,
          ...this.#seal(id, input.topic, credentials.value, input.webhook ?? null),
          endpoints: input.endpoints ? JSON.stringify(input.endpoints) : null,
          feedback: input.feedback ? JSON.stringify(input.feedback) : null,
          health_status: 'healthy',
          created_at: atMs,
          updated_at: atMs,
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .returning(APP_COLUMNS)
        .executeTakeFirst();
      if (!inserted) return fail(problem('PK_ERR_CONFLICT', 'An app with this id exists.', 'app-exists'));
      await trx.insertInto('app_keys').values({ app_id: id }).execute();
      return ok(toApp(inserted));
    });
  }

  async get(appId: string): Promise<App | null> {
    const row = await this.#db
      .selectFrom('apps')
      .select(APP_COLUMNS)
      .where('id', '=', appId)
      .executeTakeFirst();
    return row ? toApp(row) : null;
  }

  async list(page: PageRequest = {}): Promise<Result<Page<App>>> {
    const limit = parseLimit(page.limit);
    if (!limit.ok) return limit;
    const cursor = decodeCursor('apps', page.cursor, { i: 'string' });
    if (!cursor.ok) return cursor;
    let query = this.#db.selectFrom('apps').select(APP_COLUMNS);
    if (cursor.value !== null) query = query.where('id', '>', String(cursor.value.i));
    const rows = await query
      .orderBy('id')
      .limit(limit.value + 1)
      .execute();
    const more = rows.length > limit.value;
    const items = more ? rows.slice(0, limit.value) : rows;
    return ok({
      items: items.map(toApp),
      nextCursor: more ? encodeCursor('apps', { i: items.at(-1)!.id }) : null,
    });
  }

  async update(appId: string, input: UpdateAppInput, at: Date = new Date()): Promise<Result<App>> {
    if (
      input.name !== undefined &&
      (typeof input.name !== 'string' || input.name.length === 0 || input.name.length > 200)
    ) {
      return invalid('The app name must be 1-200 characters.', 'name');
    }
    if (
      input.topic !== undefined &&
      (typeof input.topic !== 'string' || input.topic.length === 0 || input.topic.length > 255)
    ) {
      return fail(problem('PK_ERR_TOPIC_INVALID', 'The topic must be the bundle id.', 'topic'));
    }
    if (input.credentials !== undefined) {
      const credentials = checkCredentials(input.credentials);
      if (!credentials.ok) return credentials;
    }
    const webhookCheck = checkWebhook(input.webhook);
    if (!webhookCheck.ok) return webhookCheck;
    return this.#db.transaction().execute(async (trx) => {
      const secrets = await this.#readSecrets(trx, appId);
      if (!secrets) return fail(problem('PK_ERR_APP_NOT_FOUND', 'App not found.', 'unknown-app'));
      const topic = input.topic ?? secrets.topic;
      const credentials = input.credentials ?? secrets.credentials;
      const webhook = input.webhook === undefined ? secrets.webhook : input.webhook;
      const updated = await trx
        .updateTable('apps')
        .set({
          ...(input.name !== undefined ? { name: input.name } : {}),
          topic,
          auth_kind: credentials.auth,
          ...this.#seal(appId, topic, credentials, webhook),
          ...(input.endpoints !== undefined
            ? { endpoints: input.endpoints ? JSON.stringify(input.endpoints) : null }
            : {}),
          ...(input.feedback !== undefined
            ? { feedback: input.feedback ? JSON.stringify(input.feedback) : null }
            : {}),
          // New settings deserve a new chance: health is APNs' verdict on the old ones.
          ...(input.credentials !== undefined || input.topic !== undefined || input.endpoints !== undefined
            ? { health_status: 'healthy', health_reason: null, health_since: null }
            : {}),
          updated_at: toMs(at),
        })
        .where('id', '=', appId)
        .returning(APP_COLUMNS)
        .executeTakeFirstOrThrow();
      return ok(toApp(updated));
    });
  }

  /**
   * Devices, keys, notifications and counts go by ON DELETE CASCADE; outcomes have no foreign key
   * (migration 0005), so they are deleted here, in the same transaction. The notifications are
   * locked first: an outcome chunk being recorded holds its notification FOR KEY SHARE, so this
   * waits for it to commit and then deletes its rows too, and a chunk that comes later finds no
   * notification and writes nothing (notifications.recordOutcomes).
   */
  async delete(appId: string): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const notifications = trx.selectFrom('notifications').select('id').where('app_id', '=', appId);
      if (this.#rowLocks) await notifications.forUpdate().execute();
      await trx.deleteFrom('notification_outcomes').where('notification_id', 'in', notifications).execute();
      const result = await trx.deleteFrom('apps').where('id', '=', appId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  async #readSecrets(
    db: Kysely<Database>,
    appId: string,
  ): Promise<(AppSecrets & { readonly topic: string }) | null> {
    const row = await db
      .selectFrom('apps')
      .select(['topic', 'credentials', 'webhook_url', 'webhook_secret'])
      .where('id', '=', appId)
      .executeTakeFirst();
    if (!row) return null;
    const credentials = JSON.parse(
      this.#cipher.decrypt(row.credentials, { appId, topic: row.topic, purpose: 'credentials' }),
    ) as ApnsCredentials;
    const webhook =
      row.webhook_url !== null && row.webhook_secret !== null
        ? {
            url: row.webhook_url,
            secret: this.#cipher.decrypt(row.webhook_secret, {
              appId,
              topic: row.topic,
              purpose: 'webhook-secret',
            }),
          }
        : null;
    return { topic: row.topic, credentials, webhook };
  }

  async getSecrets(appId: string): Promise<AppSecrets | null> {
    const secrets = await this.#readSecrets(this.#db, appId);
    return secrets ? { credentials: secrets.credentials, webhook: secrets.webhook } : null;
  }

  async setApnsHealth(appId: string, health: ProviderHealth): Promise<ProviderHealth | null> {
    const status = health.status;
    const reason = health.status === 'healthy' ? null : health.reason;
    const since = health.status === 'healthy' ? null : toMs(health.since);
    const row = await this.#db
      .updateTable('apps')
      .set({
        health_status: status,
        health_reason: reason,
        // The first moment of this status is kept while the status stays the same.
        health_since: sql<number | null>`case when ${sql.ref('health_status')} = ${status} and ${sql.ref('health_since')} is not null then ${sql.ref('health_since')} else ${since} end`,
      })
      .where('id', '=', appId)
      .returning(['health_status', 'health_reason', 'health_since'])
      .executeTakeFirst();
    return row ? toHealth(row) : null;
  }

  async listWithFeedback(): Promise<readonly App[]> {
    const rows = await this.#db
      .selectFrom('apps')
      .select(APP_COLUMNS)
      .where('feedback', 'is not', null)
      .orderBy('id')
      .execute();
    return rows.map(toApp);
  }
}
