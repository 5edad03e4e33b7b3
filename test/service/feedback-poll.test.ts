import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceToken } from '../../src/domain/index.ts';
import { isPushkeeperError, type PushkeeperError } from '../../src/errors.ts';
import type { FeedbackPollResult } from '../../src/service/feedback-poll.ts';
import {
  createFeedbackScheduler,
  createFeedbackService,
  pollAppFeedback,
  pollConfiguredApp,
} from '../../src/service/feedback-poll.ts';
import type { ServiceLogger } from '../../src/service/logger.ts';
import type { Store } from '../../src/store/contract.ts';
import { openStore } from '../../src/store/index.ts';
import { type MockFeedbackServer, startMockFeedbackServer } from '../../src/testing/mock-feedback-server.ts';
import { type TestPki, createTestPki } from '../../src/testing/test-pki.ts';
import { FakeClock } from '../feedback/fake-clock.ts';

interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

function collector(): ServiceLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function token(n: number): DeviceToken {
  return Buffer.alloc(32, n).toString('hex') as DeviceToken;
}

const T0 = Date.parse('2026-01-01T00:00:00Z');
const seconds = (ms: number): number => Math.floor(ms / 1000);

let pki: TestPki;
let client: { certPem: string; keyPem: string };
let dir: string;
let store: Store;
let server: MockFeedbackServer;
let appId: string;

beforeAll(async () => {
  pki = await createTestPki();
  client = await pki.issueClientCertificate({ bundleId: 'com.example.app', environments: ['production'] });
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pk-feedback-poll-'));
  store = openStore({ url: `sqlite:${join(dir, 'pk.db')}`, secretKey: randomBytes(32) });
  await store.migrate();
  server = await startMockFeedbackServer({
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem },
    chunkSize: { min: 1, max: 40, seed: 3 },
  });
  const created = await store.apps.create({
    name: 'Example',
    topic: 'com.example.app',
    credentials: { auth: 'certificate', certPem: client.certPem, keyPem: client.keyPem },
    feedback: { host: server.host, port: server.port, intervalHours: null, caPem: pki.caCertPem },
  });
  if (!created.ok) throw new Error(created.error.message);
  appId = created.value.id;
});

afterEach(async () => {
  await server.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function register(t: DeviceToken, atMs: number): Promise<void> {
  const result = await store.devices.register(appId, { token: t }, new Date(atMs));
  if (!result.ok) throw new Error(result.error.message);
}

async function exists(t: DeviceToken): Promise<boolean> {
  const result = await store.devices.get(appId, t);
  if (!result.ok) throw new Error(result.error.message);
  return result.value !== null;
}

async function failure(promise: Promise<unknown>): Promise<PushkeeperError> {
  try {
    await promise;
  } catch (error) {
    if (isPushkeeperError(error)) return error;
    throw error;
  }
  throw new Error('expected a PushkeeperError');
}

function deps(logger: ServiceLogger, extra: Record<string, unknown> = {}) {
  return { store, logger, connectTimeoutMs: 5000, idleTimeoutMs: 5000, ...extra };
}

describe('pollAppFeedback against the mock feedback service on SQLite', () => {
  it('removes reported tokens except re-registered ones, counts malformed, and a second poll finds nothing', async () => {
    // 1..3 registered before their failure → removed; 4 re-registered after → kept; 5 unknown.
    for (const n of [1, 2, 3, 4]) await register(token(n), T0);
    await register(token(4), T0 + 3_600_000);
    await register(token(9), T0); // not reported: untouched
    server.queue([
      { token: token(1), timestampSeconds: seconds(T0 + 60_000) },
      { token: token(2), timestampSeconds: seconds(T0 + 60_000) },
      { token: 'ABCDEF', timestampSeconds: seconds(T0) }, // too short: malformed
      { token: token(3).toUpperCase(), timestampSeconds: seconds(T0 + 60_000) },
      { token: token(4), timestampSeconds: seconds(T0 + 60_000) },
      { token: token(5), timestampSeconds: seconds(T0 + 60_000) },
    ]);
    const logger = collector();
    const service = createFeedbackService(deps(logger));
    const first = await service.pollNow(appId);
    if (!first.ok) throw new Error(first.error.message);
    expect(first.value).toMatchObject({
      appId,
      tuplesRead: 6,
      removed: 3,
      keptReregistered: 1,
      notFound: 1,
      malformed: 1,
      truncatedBytes: 0,
    });
    expect(await exists(token(1))).toBe(false);
    expect(await exists(token(3))).toBe(false);
    expect(await exists(token(4))).toBe(true);
    expect(await exists(token(9))).toBe(true);

    // Each removal is logged, masked, with the tuple's UTC time; no full token in any log line.
    const removals = logger.lines.filter((l) => l.message.startsWith('removed token'));
    expect(removals.map((l) => l.message).sort()).toEqual(
      [1, 2, 3]
        .map(
          (n) =>
            `removed token ${token(n).slice(0, 4)}…${token(n).slice(-4)}: feedback service, failed at 2026-01-01T00:01:00.000Z`,
        )
        .sort(),
    );
    const everything = JSON.stringify(logger.lines);
    for (const n of [1, 2, 3, 4, 5]) expect(everything).not.toContain(token(n));

    // Recorded as invalidations with reason and source feedback-service and the tuple's time.
    const listed = await store.invalidations.list(appId);
    if (!listed.ok) throw new Error(listed.error.message);
    expect(
      listed.value.items.map((i) => [i.token, i.reason, i.source, i.apnsTimestamp.getTime()]).sort(),
    ).toEqual([1, 2, 3].map((n) => [token(n), 'feedback-service', 'feedback-service', T0 + 60_000]).sort());
    const recorded = await store.feedbackPolls.get(appId);
    expect(recorded?.summary).toMatchObject({ tuplesRead: 6, removed: 3, keptReregistered: 1, malformed: 1 });

    const second = await service.pollNow(appId);
    if (!second.ok) throw new Error(second.error.message);
    expect(second.value).toMatchObject({ tuplesRead: 0, removed: 0 });
    expect(server.connections).toHaveLength(2);
  });

  it('applies only the complete tuples when the service stalls mid-tuple, then reports the timeout', async () => {
    for (const n of [1, 2, 3]) await register(token(n), T0);
    server.setFaults({ stallMidTuple: { afterTuples: 2 } });
    server.queue([1, 2, 3].map((n) => ({ token: token(n), timestampSeconds: seconds(T0 + 1000) })));
    const logger = collector();
    const error = await failure(pollConfiguredApp(appId, deps(logger, { idleTimeoutMs: 300 })));
    expect(error.code).toBe('PK_ERR_FEEDBACK_TIMEOUT');
    const partial = error.details?.['summary'] as FeedbackPollResult;
    expect(partial).toMatchObject({ tuplesRead: 2, removed: 2, error: { code: 'PK_ERR_FEEDBACK_TIMEOUT' } });
    expect(partial.truncatedBytes).toBeGreaterThan(0);
    expect(await exists(token(1))).toBe(false);
    expect(await exists(token(2))).toBe(false);
    expect(await exists(token(3))).toBe(true);
    expect(
      logger.lines.some((l) => l.level === 'error' && l.fields['code'] === 'PK_ERR_FEEDBACK_TIMEOUT'),
    ).toBe(true);
  });

  it('does not apply a truncated last tuple', async () => {
    await register(token(1), T0);
    await register(token(2), T0);
    server.setFaults({ closeMidTuple: { afterTuples: 1 } });
    server.queue([1, 2].map((n) => ({ token: token(n), timestampSeconds: seconds(T0 + 1000) })));
    const logger = collector();
    const result = await pollConfiguredApp(appId, deps(logger));
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value).toMatchObject({ tuplesRead: 1, removed: 1, truncatedBytes: 19 });
    expect(await exists(token(2))).toBe(true);
    expect(logger.lines.some((l) => l.level === 'warn' && l.fields['truncatedBytes'] === 19)).toBe(true);
  });

  it('fails with a clear error and changes nothing when the client certificate is wrong', async () => {
    await register(token(1), T0);
    server.queue([{ token: token(1), timestampSeconds: seconds(T0 + 1000) }]);
    const stranger = await pki.issueClientCertificate({
      bundleId: 'com.example.app',
      environments: ['production'],
      selfSigned: true,
    });
    const updated = await store.apps.update(appId, {
      credentials: { auth: 'certificate', certPem: stranger.certPem, keyPem: stranger.keyPem },
    });
    expect(updated.ok).toBe(true);
    const service = createFeedbackService(deps(collector()));
    const error = await failure(service.pollNow(appId));
    expect(error.code).toBe('PK_ERR_FEEDBACK_TLS');
    expect(await exists(token(1))).toBe(true);
    const listed = await store.invalidations.list(appId);
    expect(listed.ok && listed.value.items).toEqual([]);
    expect(server.pending).toBe(1);
  });

  it('answers Result failures for an unknown app, no feedback settings, or token credentials', async () => {
    const logger = collector();
    const unknown = await pollConfiguredApp('app_missing', deps(logger));
    expect(unknown.ok || unknown.error.code).toBe('PK_ERR_APP_NOT_FOUND');
    const tokenApp = await store.apps.create({
      name: 'Token',
      topic: 'com.example.token',
      credentials: { auth: 'token', teamId: 'TEAM123456', keyId: 'KEYID12345', privateKey: 'x' },
      feedback: { host: server.host, port: server.port, intervalHours: null, caPem: null },
    });
    if (!tokenApp.ok) throw new Error(tokenApp.error.message);
    const needsCert = await pollConfiguredApp(tokenApp.value.id, deps(logger));
    expect(needsCert.ok || [needsCert.error.code, needsCert.error.reason]).toEqual([
      'PK_ERR_FEEDBACK_NOT_CONFIGURED',
      'needs-certificate',
    ]);
    await store.apps.update(appId, { feedback: null });
    const none = await pollConfiguredApp(appId, deps(logger));
    expect(none.ok || none.error.code).toBe('PK_ERR_FEEDBACK_NOT_CONFIGURED');
    expect(server.connections).toHaveLength(0);
  });

  it('counts every malformed tuple but logs only the first 20', async () => {
    const logger = collector();
    const result = await pollAppFeedback(
      { appId, host: 'unused', port: 1, certificate: { certPem: '', keyPem: '' } },
      {
        invalidations: store.invalidations,
        logger,
        read: async (_options, onTuples) => {
          await onTuples(
            Array.from({ length: 25 }, (_, i) => ({
              failedAt: new Date(T0),
              tokenHex: 'ab'.repeat(i),
              tokenLength: i,
            })),
          );
          return { tuplesRead: 25, truncatedBytes: 0 };
        },
      },
    );
    expect(result).toMatchObject({ tuplesRead: 25, malformed: 25, removed: 0, notFound: 0 });
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(20);
  });

  it('applies in store batches across many tuples (reader seam)', async () => {
    for (let n = 1; n <= 30; n++) await register(token(n), T0);
    const calls: number[] = [];
    const invalidations = {
      invalidateMany: async (...args: Parameters<Store['invalidations']['invalidateMany']>) => {
        const items = [...(args[1] as Iterable<unknown>)];
        calls.push(items.length);
        return store.invalidations.invalidateMany(args[0], items as never, args[2]);
      },
      list: store.invalidations.list.bind(store.invalidations),
    };
    const result = await pollAppFeedback(
      { appId, host: 'unused', port: 1, certificate: { certPem: '', keyPem: '' } },
      {
        invalidations,
        logger: collector(),
        applyBatchSize: 8,
        read: async (_options, onTuples) => {
          for (let n = 1; n <= 30; n += 3) {
            await onTuples(
              [n, n + 1, n + 2].map((m) => ({
                failedAt: new Date(T0 + 5000),
                tokenHex: token(m),
                tokenLength: 32,
              })),
            );
          }
          return { tuplesRead: 30, truncatedBytes: 0 };
        },
      },
    );
    expect(result).toMatchObject({ tuplesRead: 30, removed: 30 });
    expect(calls).toEqual([8, 8, 8, 6]);
  });

  it('the store-wired schedule polls due apps, records the poll, and does not poll again after a restart', async () => {
    await register(token(1), T0);
    server.queue([{ token: token(1), timestampSeconds: seconds(T0 + 1000) }]);
    const clock = new FakeClock(T0 + 86_400_000);
    const summaries: FeedbackPollResult[] = [];
    const make = () =>
      createFeedbackScheduler({
        ...deps(collector()),
        schedulerClock: clock,
        clock: () => new Date(clock.now()),
        jitterRatio: 0,
        onSummary: (summary) => summaries.push(summary),
      });
    const first = make();
    first.start();
    await first.idle();
    await first.close();
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ removed: 1 });
    expect(await exists(token(1))).toBe(false);
    const recorded = await store.feedbackPolls.get(appId);
    expect(recorded?.lastPollAt.getTime()).toBe(T0 + 86_400_000);
    expect(recorded?.summary).toMatchObject({ tuplesRead: 1, removed: 1 });

    await clock.advanceTo(T0 + 86_400_000 + 3_600_000, async () => undefined);
    const second = make();
    second.start();
    await second.idle();
    await clock.advanceTo(T0 + 86_400_000 + 12 * 3_600_000 - 1, () => second.idle());
    expect(server.connections).toHaveLength(1);
    await clock.advanceTo(T0 + 86_400_000 + 12 * 3_600_000, () => second.idle());
    await second.close();
    expect(server.connections).toHaveLength(2);
  });
});
