/**
 * A real app over a real SQLite store in a temp dir, with fakes only at the service seam:
 * `FakePushService` validates with the domain rules and persists through the real store's
 * notifications.create; `FakeFeedbackService` answers a fixed summary. Logs are collected so tests
 * can assert nothing secret was written.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Registry } from 'prom-client';
import { type Config, loadConfig } from '../../src/config/index.ts';
import {
  fail,
  ok,
  parseAudience,
  parseNotificationOptions,
  problem,
  type Result,
  serialisePayload,
} from '../../src/domain/index.ts';
import { ADMIN_TOKEN_PREFIX } from '../../src/cli/secrets.ts';
import { buildApp, hashApiKey } from '../../src/http/index.ts';
import type {
  AcceptedPush,
  FeedbackPollSummary,
  FeedbackService,
  PushRequest,
  PushService,
} from '../../src/service/contract.ts';
import { ApnsAgent } from '../../src/providers/apns/index.ts';
import { createAppService, createKeyService } from '../../src/service/apps.ts';
import { createAgentGateway } from '../../src/service/apns-gateway.ts';
import { silentLogger } from '../../src/service/logger.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/contract.ts';

export class FakePushService implements PushService {
  readonly store: Store;
  accepted = 0;

  constructor(store: Store) {
    this.store = store;
  }

  async accept(
    appId: string,
    request: PushRequest,
    options: { readonly idempotencyKey?: string } = {},
  ): Promise<Result<AcceptedPush>> {
    const audience = parseAudience(request.audience);
    if (!audience.ok) return audience;
    const parsedOptions = parseNotificationOptions(request.options);
    if (!parsedOptions.ok) return parsedOptions;
    const payload = serialisePayload(request.payload, parsedOptions.value.pushType);
    if (!payload.ok) return payload;
    const created = await this.store.notifications.create(appId, {
      audience: audience.value,
      payload: payload.value.bytes.toString('utf8'),
      options: { ...parsedOptions.value },
      idempotencyKey: options.idempotencyKey ?? null,
    });
    if (!created.ok) return created;
    this.accepted += 1;
    return ok(created.value);
  }

  async cancel(appId: string, notificationId: string) {
    return this.store.notifications.cancel(appId, notificationId);
  }
}

export class FakeFeedbackService implements FeedbackService {
  readonly store: Store;
  polls: string[] = [];

  constructor(store: Store) {
    this.store = store;
  }

  async pollNow(appId: string): Promise<Result<FeedbackPollSummary>> {
    const app = await this.store.apps.get(appId);
    if (app === null) return fail(problem('PK_ERR_APP_NOT_FOUND', 'App not found.'));
    if (app.feedback === null) return fail(problem('PK_ERR_FEEDBACK_NOT_CONFIGURED', 'No feedback service.'));
    this.polls.push(appId);
    return ok({
      appId,
      at: new Date('2026-01-01T00:00:00Z'),
      tuplesRead: 2,
      removed: 1,
      keptReregistered: 1,
      notFound: 0,
      malformed: 0,
      truncatedBytes: 0,
    });
  }
}

export interface Harness {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly push: FakePushService;
  readonly feedback: FakeFeedbackService;
  readonly adminToken: string;
  readonly logLines: string[];
  readonly registry: Registry;
  /** The SQLite file: a second harness may open it as another API process would. */
  readonly databasePath: string;
  readonly secretKey: Buffer;
  shuttingDown: boolean;
  storeReady: boolean;
  close(): Promise<void>;
}

/** Every log line written by any harness in this test file (for the no-secrets assertion). */
export const allLogLines: string[] = [];

export async function createHarness(
  overrides: Partial<Record<keyof Config, unknown>> = {},
  options: {
    /** Share another harness's database (and its secret key), like a second API process. */
    readonly sameDatabaseAs?: Harness;
    /** The app's millisecond clock (rate limits, key cache); Date.now when absent. */
    readonly nowMs?: () => number;
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'pk-http-'));
  const databasePath = options.sameDatabaseAs?.databasePath ?? join(dir, 'pk.db');
  const secretKey = options.sameDatabaseAs?.secretKey ?? randomBytes(32);
  const store = openStore({ url: `sqlite:${databasePath}`, secretKey });
  await store.migrate();
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, ...overrides } });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.length > 0) {
          logLines.push(line);
          allLogLines.push(line);
        }
      }
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const adminToken = ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const push = new FakePushService(store);
  const feedback = new FakeFeedbackService(store);
  const registry = new Registry();
  const state = { shuttingDown: false, storeReady: true };
  const gateway = createAgentGateway({ agent: new ApnsAgent() });
  const app = await buildApp({
    store,
    apps: createAppService({ store, gateway, logger: silentLogger }),
    keys: createKeyService({ store }),
    push,
    feedback,
    readiness: { check: async () => ({ store: state.storeReady, queue: true }) },
    config,
    logger,
    metrics: { registry },
    adminTokenSha256: hashApiKey(adminToken),
    isShuttingDown: () => state.shuttingDown,
    ...(options.nowMs ? { nowMs: options.nowMs } : {}),
  });
  await app.ready();
  const harness: Harness = {
    app,
    store,
    push,
    feedback,
    adminToken,
    logLines,
    registry,
    databasePath,
    secretKey,
    get shuttingDown() {
      return state.shuttingDown;
    },
    set shuttingDown(value: boolean) {
      state.shuttingDown = value;
    },
    get storeReady() {
      return state.storeReady;
    },
    set storeReady(value: boolean) {
      state.storeReady = value;
    },
    async close() {
      await app.close();
      await gateway.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

export function bearer(key: string): { authorization: string } {
  return { authorization: `Bearer ${key}` };
}

/** A valid 64-hex token derived from a number, distinct per n. */
export function tokenFor(n: number): string {
  return n.toString(16).padStart(8, '0').repeat(8);
}

/** A P-256 private key in PKCS#8 PEM: what a .p8 file holds. */
export const P8_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString()
  .trim();

export interface CreatedApp {
  readonly id: string;
  readonly apiKey: string;
  readonly publishableKey: string;
}

export async function createApp(
  harness: Harness,
  name = 'Example',
  extra: Record<string, unknown> = {},
): Promise<CreatedApp> {
  const response = await harness.app.inject({
    method: 'POST',
    url: '/v1/apps',
    headers: bearer(harness.adminToken),
    payload: {
      name,
      topic: 'com.example.app',
      apns: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: P8_KEY },
      ...extra,
    },
  });
  if (response.statusCode !== 201) throw new Error(`createApp: ${response.statusCode} ${response.body}`);
  return response.json() as CreatedApp;
}
