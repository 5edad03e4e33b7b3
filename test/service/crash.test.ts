/**
 * Crash and shutdown safety of the pipeline with real processes (docs/pipeline.md "Crash
 * safety: the bound"): child processes on a real SQLite file or PostgreSQL database — the runtime
 * without its API (fixtures/pipeline-process.ts) for the twenty kills, `pushkeeper serve`,
 * `serve --api-only` and `worker` for the rest — sending to a validating mock APNs server that
 * lives in this process and so survives every kill. The mock answers after a small seeded delay
 * over few streams, which keeps a broadcast in flight long enough to be killed in its middle.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { apnsIdFor } from '../../src/service/apns-id.ts';
import { type App, FINAL_NOTIFICATION_STATUSES, type Notification, openStore, type Store } from '../../src/store/index.ts';
import { createTestPki, generateSigningKey, type MockApnsServer, type MockFaults, startMockApnsServer } from '../../src/testing/index.ts';
import { PIPELINE_SCRIPT, PushkeeperProcesses } from './fixtures/pushkeeper-process.ts';
import { createPostgresDatabase } from './pipeline-harness.ts';

const BUNDLE_ID = 'com.example.crash';
const TEAM_ID = 'TEAM123456';
const KEY_ID = 'KEYID12345';
const ADMIN_TOKEN = `pk_admin_${'c'.repeat(40)}`;
const PAYLOAD = { aps: { alert: { title: 'Crash test', body: 'Hello again' } } };

/** mulberry32: a small seeded PRNG, so kill moments and burst shapes repeat from run to run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function tokenAt(seed: string, index: number): string {
  return createHash('sha256').update(`${seed}:${index}`).digest('hex');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

interface World {
  readonly dir: string;
  readonly mock: MockApnsServer;
  readonly store: Store;
  readonly app: App;
  readonly tokens: readonly string[];
  /** The environment every child gets; the database URL is in it. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * A mock APNs server knowing `deviceCount` devices, a database holding the app and the same devices,
 * and the environment for children that share the store's secret key and the admin token.
 */
async function createWorld(options: {
  databaseUrl: (dir: string) => string;
  deviceCount: number;
  faults: MockFaults;
  maxConcurrentStreams: number;
  env: Record<string, string>;
}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'pk-pipeline-crash-'));
  const pki = await createTestPki();
  const key = generateSigningKey({ teamId: TEAM_ID, keyId: KEY_ID });
  const mock = await startMockApnsServer({
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
    environment: 'production',
    signingKeys: [{ teamId: TEAM_ID, keyId: KEY_ID, publicKeyPem: key.publicKeyPem }],
    maxConcurrentStreams: options.maxConcurrentStreams,
    faults: options.faults,
  });
  const secretKeyHex = randomBytes(32).toString('hex');
  const databaseUrl = options.databaseUrl(dir);
  const store = openStore({ url: databaseUrl, secretKey: Buffer.from(secretKeyHex, 'hex') });
  await store.migrate();
  const created = await store.apps.create({
    name: 'Crash test',
    topic: BUNDLE_ID,
    credentials: { auth: 'token', teamId: TEAM_ID, keyId: KEY_ID, privateKey: key.privateKeyPem },
    endpoints: { production: mock.url, sandbox: mock.url, caPem: pki.caCertPem },
  });
  if (!created.ok) throw new Error(created.error.message);
  const app = created.value;
  const tokens = Array.from({ length: options.deviceCount }, (_, index) => tokenAt(dir, index));
  const imported = await store.devices.import(
    app.id,
    tokens.map((token) => ({ token, environment: 'production' as const })),
    { batchSize: 5000 },
  );
  if (!imported.ok) throw new Error(imported.error.message);
  for (const token of tokens) mock.registerDevice(token, { topic: BUNDLE_ID, environment: 'production' });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: dir,
    PUSHKEEPER_DATA_DIR: join(dir, 'data'),
    PUSHKEEPER_DATABASE_URL: databaseUrl,
    PUSHKEEPER_PORT: '0',
    PUSHKEEPER_ADMIN_TOKEN: ADMIN_TOKEN,
    PUSHKEEPER_SECRET_KEY: secretKeyHex,
    PUSHKEEPER_LOG_LEVEL: 'info',
    PUSHKEEPER_APNS_CONNECTIONS: '1',
    ...options.env,
  };
  return { dir, mock, store, app, tokens, env };
}

async function closeWorld(world: World | undefined): Promise<void> {
  if (world === undefined) return;
  await world.store.close();
  await world.mock.destroy();
  rmSync(world.dir, { recursive: true, force: true });
}

async function postPush(
  url: string,
  appId: string,
  audience: unknown,
  options?: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/apps/${appId}/notifications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ audience, payload: PAYLOAD, ...(options ? { options } : {}) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Whether a new TCP connection to the API is accepted, or the error code that refused it. */
function tryConnect(url: string): Promise<'connected' | string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/**
 * A push request written in two parts over a raw socket: the request line now, the rest of the
 * headers and the body on `finish()`, which resolves with the answer (the server closes after it).
 */
async function startPartialPush(url: string, appId: string) {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('utf8');
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  socket.write(`POST /v1/apps/${appId}/notifications HTTP/1.1\r\nhost: ${hostname}:${port}\r\n`);
  return {
    async finish(audience: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
      const body = JSON.stringify({ audience, payload: PAYLOAD });
      socket.write(
        `authorization: Bearer ${ADMIN_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer on the raw connection: ${received}`)), 20_000);
        }),
      ]).finally(() => clearTimeout(timer));
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1]);
      const text = received.slice(received.indexOf('\r\n\r\n') + 4);
      return { status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { raw: text } };
    },
  };
}

async function notification(world: World, id: string): Promise<Notification> {
  const found = await world.store.notifications.get(world.app.id, id);
  if (found === null) throw new Error(`notification ${id} not found`);
  return found;
}

async function isFinal(world: World, id: string): Promise<boolean> {
  return FINAL_NOTIFICATION_STATUSES.includes((await notification(world, id)).status);
}

interface OutcomeRow {
  readonly token: string;
  readonly outcome: string;
  readonly apns_id: string | null;
}

/** The recorded outcomes straight from the table: one row per (notification, token) is the claim under test. */
async function outcomeRows(world: World, notificationId: string): Promise<OutcomeRow[]> {
  const url = String(world.env['PUSHKEEPER_DATABASE_URL']);
  const sql = 'SELECT token, outcome, apns_id FROM notification_outcomes WHERE notification_id = ';
  if (url.startsWith('sqlite:')) {
    const db = new DatabaseSync(url.slice('sqlite:'.length), { readOnly: true });
    try {
      return db.prepare(`${sql}?`).all(notificationId) as unknown as OutcomeRow[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<OutcomeRow>(`${sql}$1`, [notificationId])).rows;
  } finally {
    await client.end();
  }
}

/**
 * The notification is done with exact counts: every device accepted once in the counts. Recording
 * deliveries, each device has exactly one outcome row, `accepted`, with its derived apns-id; by
 * default, no row at all (only devices that did not get it have one).
 */
async function expectAllAcceptedOnce(
  world: World,
  notificationId: string,
  tokens: readonly string[],
  deliveries: 'recorded' | 'not-recorded',
): Promise<void> {
  const rows = await outcomeRows(world, notificationId);
  if (deliveries === 'not-recorded') {
    expect(rows).toEqual([]);
    const final = await notification(world, notificationId);
    expect(final.status).toBe('done');
    expect(final.counts).toMatchObject({ targeted: tokens.length, accepted: tokens.length, rejected: 0, invalidated: 0, failed: 0, pending: 0 });
    return;
  }
  expect(rows.length).toBe(tokens.length);
  const byToken = new Map(rows.map((row) => [row.token, row]));
  expect(byToken.size).toBe(tokens.length);
  for (const token of tokens) {
    const row = byToken.get(token);
    expect(row, `no outcome for device #${tokens.indexOf(token)}`).toBeDefined();
    expect(row!.outcome).toBe('accepted');
    expect(row!.apns_id).toBe(apnsIdFor(notificationId, token));
  }
  const final = await notification(world, notificationId);
  expect(final.status).toBe('done');
  expect(final.counts).toMatchObject({ targeted: tokens.length, accepted: tokens.length, rejected: 0, invalidated: 0, failed: 0, pending: 0 });
}

/**
 * What the mock saw for the notification: every device accepted at least once, every send carrying
 * the apns-id derived from (notification, token), and the number of sends beyond the first.
 */
function deliveriesAtMock(world: World, notificationId: string, tokens: readonly string[]): { duplicates: number; lost: number } {
  const expectedIds = new Set(tokens.map((token) => apnsIdFor(notificationId, token)));
  for (const sent of world.mock.accepted) {
    if (!expectedIds.has(sent.apnsId)) continue;
    expect(sent.apnsId).toBe(apnsIdFor(notificationId, sent.token));
  }
  let duplicates = 0;
  let lost = 0;
  for (const id of expectedIds) {
    const count = world.mock.acceptanceCount(id);
    if (count === 0) lost += 1;
    duplicates += Math.max(0, count - 1);
  }
  return { duplicates, lost };
}

const processes = new PushkeeperProcesses();
let world: World | undefined;
let dropDatabase: (() => Promise<void>) | undefined;

afterEach(async () => {
  await processes.killAll();
  await closeWorld(world);
  world = undefined;
  await dropDatabase?.();
  dropDatabase = undefined;
});

describe('crash safety with real processes', () => {
  it('SIGKILL of the single process 20 times during a 10,000-device broadcast: one outcome each, duplicates within the bound', async () => {
    const KILLS = 20;
    const WORKER_CONCURRENCY = 2;
    const BATCH_SIZE = 100;
    const random = seededRandom(0x5eed_0006);
    world = await createWorld({
      databaseUrl: (dir) => `sqlite:${join(dir, 'pushkeeper.db')}`,
      deviceCount: 10_000,
      // 4 streams answering after 10–20 ms: at most 400 sends a second, whatever the machine.
      // The seeded kill delays add up to 15 s, so the twenty lives send at most ~8,000 of the
      // 10,000 and every kill lands in the middle of the broadcast.
      maxConcurrentStreams: 4,
      faults: { delayMs: { min: 10, max: 20 }, faultSeed: 6 },
      env: { PUSHKEEPER_BATCH_SIZE: String(BATCH_SIZE), PUSHKEEPER_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY) },
    });
    const w = world;
    let id = '';
    let killedWhileSending = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const env = kill === 0 ? { ...w.env, PK_CRASH_BROADCAST_APP: w.app.id, PK_CRASH_RECORD_DELIVERIES: '1' } : w.env;
      const pipeline = await processes.start([], env, { script: PIPELINE_SCRIPT });
      if (kill === 0) {
        const accepted = /broadcast accepted: (\S+)/.exec(pipeline.output());
        expect(accepted, pipeline.output()).not.toBeNull();
        id = accepted![1]!;
      }
      // Kill while this life is sending: after its first acceptance at the mock plus a seeded delay.
      const before = w.mock.acceptedCount;
      await waitUntil('this process to send', async () => w.mock.acceptedCount > before || (await isFinal(w, id)), 20_000);
      await sleep(100 + Math.floor(random() * 1400));
      if (!(await isFinal(w, id))) killedWhileSending += 1;
      const exit = await pipeline.stop('SIGKILL');
      expect(exit, `life ${kill} ended by itself:\n${pipeline.output().slice(-4000)}`).toEqual({ code: null, signal: 'SIGKILL' });
    }
    // The last life runs at full speed; the claims are about what the kills left behind.
    w.mock.setFaults({});
    const last = await processes.start([], w.env, { script: PIPELINE_SCRIPT });
    await waitUntil('the broadcast to finish after the last restart', () => isFinal(w, id), 60_000);
    expect((await last.stop('SIGTERM')).code).toBe(0);

    await expectAllAcceptedOnce(w, id, w.tokens, 'recorded');
    const { duplicates, lost } = deliveriesAtMock(w, id, w.tokens);
    expect(lost).toBe(0);
    expect(killedWhileSending).toBe(KILLS);
    // docs/pipeline.md: at most the devices of the batches in flight (batch size × concurrency) per crash.
    const bound = KILLS * BATCH_SIZE * WORKER_CONCURRENCY;
    expect(duplicates).toBeLessThanOrEqual(bound);
    console.info(`crash test: ${KILLS} kills (${killedWhileSending} mid-broadcast), ${duplicates} duplicate sends, bound ${bound}`);
    // Twenty process starts: on a loaded machine each takes seconds (the time limit only, no claim).
  }, 300_000);
});

describe('cluster takeover on PostgreSQL', () => {
  it('three workers, one SIGKILLed mid-batch: its job is taken over, counts exact, no row per delivered device', async () => {
    const database = await createPostgresDatabase();
    dropDatabase = () => database.drop();
    world = await createWorld({
      databaseUrl: () => database.url,
      deviceCount: 3_000,
      // 5 streams answering after 20–30 ms: a 500-device batch takes at least 2 s on any machine.
      maxConcurrentStreams: 5,
      faults: { delayMs: { min: 20, max: 30 }, faultSeed: 7 },
      env: {
        PUSHKEEPER_BATCH_SIZE: '500',
        PUSHKEEPER_WORKER_CONCURRENCY: '1',
        // pg-boss's shortest heartbeat: the dead worker's job is failed and retried within ~15 s.
        PUSHKEEPER_QUEUE_HEARTBEAT_SECONDS: '10',
      },
    });
    const w = world;
    const api = await processes.start(['serve', '--api-only'], w.env);
    const workers = await Promise.all([0, 1, 2].map(() => processes.start(['worker'], w.env)));
    const accepted = await postPush(api.url, w.app.id, { all: true });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const id = String(accepted.body['id']);

    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      // Concurrency 1 per worker: three active send jobs are one per worker. A batch takes at least
      // 2 s at the mock (500 devices, 5 streams, 20 ms each); each started under 1.5 s ago, so none
      // finishes before the kill: the victim is mid-batch.
      let active: string[] = [];
      await waitUntil(
        'each worker to be inside a send batch',
        async () => {
          const { rows } = await admin.query<{ id: string; fresh: boolean }>(
            `SELECT id, started_on > now() - interval '1.5 seconds' AS fresh FROM pgboss.job WHERE name = 'pk.send' AND state = 'active'`,
          );
          active = rows.map((row) => row.id);
          return rows.length === 3 && rows.every((row) => row.fresh);
        },
        30_000,
      );
      const exit = await workers[0]!.stop('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');

      await waitUntil('the broadcast to finish on the two workers left', () => isFinal(w, id), 60_000);
      await expectAllAcceptedOnce(w, id, w.tokens, 'not-recorded');
      const { rows } = await admin.query<{ id: string; state: string; retry_count: number }>(
        `SELECT id, state, retry_count FROM pgboss.job WHERE id = ANY($1::uuid[])`,
        [active],
      );
      expect(rows.map((row) => row.state)).toEqual(['completed', 'completed', 'completed']);
      // The dead worker's job failed by heartbeat, was retried and completed by another worker.
      expect(rows.filter((row) => row.retry_count >= 1)).toHaveLength(1);
    } finally {
      await admin.end();
    }
    const { duplicates, lost } = deliveriesAtMock(w, id, w.tokens);
    expect(lost).toBe(0);
    // The batch in flight in the killed worker (one job of 500 devices), at most.
    expect(duplicates).toBeLessThanOrEqual(500);
    for (const survivor of [api, ...workers.slice(1)]) expect((await survivor.stop('SIGTERM')).code).toBe(0);
  }, 120_000);
});

describe('graceful shutdown', () => {
  it('SIGTERM during a burst: 503 for new pushes, in-flight sends drain, exit 0, the rest completes after restart', async () => {
    const CLIENTS = 6;
    const AUDIENCE = 10;
    const random = seededRandom(0x5eed_0003);
    world = await createWorld({
      databaseUrl: (dir) => `sqlite:${join(dir, 'pushkeeper.db')}`,
      deviceCount: 2_000,
      maxConcurrentStreams: 20,
      faults: { delayMs: { min: 10, max: 30 }, faultSeed: 3 },
      env: { PUSHKEEPER_BATCH_SIZE: '20', PUSHKEEPER_WORKER_CONCURRENCY: '4', PUSHKEEPER_SHUTDOWN_TIMEOUT_MS: '30000' },
    });
    const w = world;
    const serve = await processes.start(['serve'], w.env);

    type Answer = { startedAt: number; status: number | 'network-error'; code?: string; id?: string; error?: string };
    const answers: Answer[] = [];
    let clock = 0; // a logical clock: the order in which requests start and answers arrive
    let firstRefusalAt = Number.POSITIVE_INFINITY;
    const client = async () => {
      for (;;) {
        const start = random() * (w.tokens.length - AUDIENCE);
        const tokens = w.tokens.slice(Math.floor(start), Math.floor(start) + AUDIENCE);
        const startedAt = ++clock;
        try {
          const { status, body } = await postPush(serve.url, w.app.id, { tokens }, { recordDeliveries: true });
          answers.push({ startedAt, status, ...(typeof body['code'] === 'string' ? { code: body['code'] } : {}), ...(status === 202 ? { id: String(body['id']) } : {}) });
          if (status !== 202) {
            firstRefusalAt = Math.min(firstRefusalAt, ++clock);
            return;
          }
        } catch (error) {
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          answers.push({ startedAt, status: 'network-error', error: cause?.code ?? cause?.message ?? String(error) });
          firstRefusalAt = Math.min(firstRefusalAt, ++clock);
          return;
        }
      }
    };
    const burst = Promise.all(Array.from({ length: CLIENTS }, client));
    // SIGTERM once the burst is on and sends are in flight at the mock.
    await waitUntil('sends in flight during the burst', () => w.mock.acceptedCount >= 100 && answers.length >= 30, 30_000);
    // A request whose headers are still arriving at the SIGTERM: its connection is busy, so the
    // server keeps it open while closing, and answers it when its headers are complete.
    const straggler = await startPartialPush(serve.url, w.app.id);
    const sentAtSigterm = w.mock.acceptedCount;
    serve.child.kill('SIGTERM');
    await waitUntil('the API to stop listening', async () => (await tryConnect(serve.url)) === 'ECONNREFUSED', 20_000);
    // 503 (Fastify answers it while closing, with its own body rather than PK_ERR_SHUTTING_DOWN).
    expect((await straggler.finish({ tokens: w.tokens.slice(0, AUDIENCE) })).status).toBe(503);
    const exit = await serve.waitForExit();
    await burst;

    expect(exit, serve.output().slice(-3000)).toEqual({ code: 0, signal: null });
    // Stops accepting: each client ended on a 503 PK_ERR_SHUTTING_DOWN or a closed connection
    // (refused after the close, or an idle keep-alive connection closed under a request being
    // written: HTTP/1.1's usual race, which an Idempotency-Key makes safe to retry), and no request
    // that started after the first refusal was accepted.
    const refusals = answers.filter((a) => a.status !== 202);
    expect(refusals).toHaveLength(CLIENTS);
    for (const refusal of refusals) {
      if (refusal.status === 'network-error') expect(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']).toContain(refusal.error);
      else expect(refusal).toMatchObject({ status: 503, code: 'PK_ERR_SHUTTING_DOWN' });
    }
    expect(answers.filter((a) => a.status === 202 && a.startedAt > firstRefusalAt)).toEqual([]);

    // Drained: every notification APNs accepted before the exit has its outcome recorded.
    const pushes = answers.filter((a) => a.id !== undefined).map((a) => a.id!);
    expect(pushes.length).toBeGreaterThanOrEqual(30);
    const recordedBeforeRestart = new Set<string>();
    for (const id of pushes) for (const row of await outcomeRows(w, id)) if (row.apns_id) recordedBeforeRestart.add(row.apns_id);
    console.info(
      `shutdown test: ${pushes.length} pushes accepted, ${w.mock.acceptedCount - sentAtSigterm} sends drained after the SIGTERM, clients ended on ${refusals.map((r) => r.error ?? r.status).join(', ')}`,
    );
    const sentBeforeRestart = w.mock.accepted.map((sent) => sent.apnsId);
    // The backlog kept the workers busy: sends were in flight at the SIGTERM and finished after it.
    expect(sentBeforeRestart.length).toBeGreaterThan(sentAtSigterm);
    expect(sentBeforeRestart.filter((apnsId) => !recordedBeforeRestart.has(apnsId))).toEqual([]);

    // The rest completes after a restart: every accepted push (and any persisted whose answer was
    // cut) ends done, each device once, nothing sent twice since nothing was cut mid-send.
    const restarted = await processes.start(['serve'], w.env);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const listed = await w.store.notifications.list(w.app.id, { cursor, limit: 1000 });
      if (!listed.ok) throw new Error(listed.error.message);
      all.push(...listed.value.items.map((n) => n.id));
      cursor = listed.value.nextCursor;
    } while (cursor !== null);
    expect(all).toEqual(expect.arrayContaining(pushes));
    await waitUntil('every notification to finish after the restart', async () => {
      for (const id of all) if (!(await isFinal(w, id))) return false;
      return true;
    }, 60_000);
    for (const id of all) {
      const stored = await notification(w, id);
      if (!('tokens' in stored.audience)) throw new Error(`unexpected audience ${JSON.stringify(stored.audience)}`);
      const tokens = stored.audience.tokens;
      await expectAllAcceptedOnce(w, id, tokens, 'recorded');
      expect(deliveriesAtMock(w, id, tokens)).toEqual({ duplicates: 0, lost: 0 });
    }
    expect((await restarted.stop('SIGTERM')).code).toBe(0);
  }, 120_000);
});
