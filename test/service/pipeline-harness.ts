/**
 * A whole pipeline on real parts: a store (SQLite file or a fresh PostgreSQL database), a queue
 * (embedded or pg-boss), the APNs agent, and two mock APNs servers — production and sandbox — over
 * TLS with one test CA. Only the clock of nothing is faked.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type AgentClientOptions, ApnsAgent } from '../../src/providers/apns/index.ts';
import type { DeviceToken } from '../../src/domain/index.ts';
import { EmbeddedJobQueue, type JobQueue, PgBossJobQueue } from '../../src/queue/index.ts';
import { createAgentGateway } from '../../src/service/apns-gateway.ts';
import type { ServiceLogger } from '../../src/service/logger.ts';
import { type Pipeline, startPipeline } from '../../src/service/pipeline.ts';
import type { GuardSettings } from '../../src/service/registry-guard.ts';
import { type App, FINAL_NOTIFICATION_STATUSES, type Notification, openStore, type Store } from '../../src/store/index.ts';
import { createTestPki, generateSigningKey, type MockApnsServer, startMockApnsServer } from '../../src/testing/index.ts';

export const BUNDLE_ID = 'com.example.pipeline';
export const TEAM_ID = 'TEAM123456';
export const KEY_ID = 'KEYID12345';

export type Backend = 'sqlite' | 'postgres';

export interface LogLine {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

export interface Harness {
  readonly store: Store;
  readonly queue: JobQueue;
  readonly pipeline: Pipeline;
  readonly production: MockApnsServer;
  readonly sandbox: MockApnsServer;
  readonly app: App;
  readonly logs: LogLine[];
  readonly caPem: string;
  register(token: DeviceToken, options: { environment: 'production' | 'sandbox'; alias?: string; tags?: string[]; atMock?: 'production' | 'sandbox' | false }): Promise<void>;
  waitForFinal(notificationId: string, timeoutMs?: number): Promise<Notification>;
  close(): Promise<void>;
}

export function randomToken(): DeviceToken {
  return randomBytes(32).toString('hex') as DeviceToken;
}

export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `pk_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    async drop() {
      const client = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export async function startHarness(
  backend: Backend,
  options: {
    batchSize?: number;
    webhook?: { url: string; secret: string };
    sendRetryLimit?: number;
    lastSuccessIntervalMs?: number;
    now?: () => Date;
    /** The app's topic; devices are registered at the mock under BUNDLE_ID whatever it is. */
    topic?: string;
    guard?: GuardSettings;
    /** Options of the agent's clients (short timeouts and few attempts for failure tests). */
    client?: AgentClientOptions;
  } = {},
): Promise<Harness> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const logs: LogLine[] = [];
  const log =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      logs.push({ level, fields, message });
    };
  const logger: ServiceLogger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const pki = await createTestPki();
  const key = generateSigningKey({ teamId: TEAM_ID, keyId: KEY_ID });
  const signingKeys = [{ teamId: TEAM_ID, keyId: KEY_ID, publicKeyPem: key.publicKeyPem }];
  const tls = { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem };
  const production = await startMockApnsServer({ tls, environment: 'production', signingKeys });
  cleanups.push(() => production.close());
  const sandbox = await startMockApnsServer({ tls, environment: 'sandbox', signingKeys });
  cleanups.push(() => sandbox.close());

  let store: Store;
  let queue: JobQueue;
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'pk-pipeline-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'pushkeeper.db');
    store = openStore({ url: `sqlite:${file}`, secretKey: randomBytes(32) });
    queue = new EmbeddedJobQueue({ path: file, synchronous: 'NORMAL' });
  } else {
    const database = await createPostgresDatabase();
    cleanups.push(() => database.drop());
    store = openStore({ url: database.url, secretKey: randomBytes(32) });
    queue = new PgBossJobQueue({ connectionString: database.url, pollingIntervalMs: 500 });
  }
  await store.migrate();
  cleanups.push(() => store.close());
  await queue.start();
  cleanups.push(() => queue.close());
  const agent = new ApnsAgent(options.client ? { client: options.client } : {});
  const gateway = createAgentGateway({ agent });
  cleanups.push(() => gateway.close());
  const pipeline = await startPipeline({
    store,
    queue,
    gateway,
    logger,
    work: true,
    batchSize: options.batchSize ?? 100,
    ...(options.lastSuccessIntervalMs === undefined ? {} : { lastSuccessIntervalMs: options.lastSuccessIntervalMs }),
    ...(options.now === undefined ? {} : { now: options.now }),
    sendRetryLimit: options.sendRetryLimit ?? 2,
    ...(options.guard ? { guard: options.guard } : {}),
  });
  const created = await store.apps.create({
    name: 'Pipeline test',
    topic: options.topic ?? BUNDLE_ID,
    credentials: { auth: 'token', teamId: TEAM_ID, keyId: KEY_ID, privateKey: key.privateKeyPem },
    endpoints: { production: production.url, sandbox: sandbox.url, caPem: pki.caCertPem },
    webhook: options.webhook ?? null,
  });
  if (!created.ok) throw new Error(created.error.message);
  const app = created.value;

  return {
    store,
    queue,
    pipeline,
    production,
    sandbox,
    app,
    logs,
    caPem: pki.caCertPem,
    async register(token, o) {
      const registered = await store.devices.register(app.id, {
        token,
        environment: o.environment,
        ...(o.alias === undefined ? {} : { alias: o.alias }),
        ...(o.tags === undefined ? {} : { tags: o.tags }),
      });
      if (!registered.ok) throw new Error(registered.error.message);
      const atMock = o.atMock ?? o.environment;
      if (atMock !== false) (atMock === 'production' ? production : sandbox).registerDevice(token, { topic: BUNDLE_ID, environment: atMock });
    },
    async waitForFinal(notificationId, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const notification = await store.notifications.get(app.id, notificationId);
        if (notification && FINAL_NOTIFICATION_STATUSES.includes(notification.status)) return notification;
        if (Date.now() > deadline) throw new Error(`notification ${notificationId} not final: ${JSON.stringify(notification)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
