/** `pushkeeper mock-apns` and its control API, driven as a user would: flags, HTTP, HTTP/2. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type http2 from 'node:http2';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerMockApnsCommand } from '../../src/cli/commands/mock-apns.ts';
import { parseFaultFlags } from '../../src/testing/fault-flags.ts';
import { generateSigningKey, signProviderToken } from '../../src/testing/index.ts';
import { closeSession, connect, push } from './support/h2-client.ts';

const TOPIC = 'com.example.app';
const DEVICE = 'ab'.repeat(32);
const LATER_DEVICE = 'cd'.repeat(32);
const key = generateSigningKey({ teamId: 'TEAM000001', keyId: 'KEY0000001' });
const jwt = signProviderToken(key, { iat: Math.floor(Date.now() / 1000) });

let dir: string;
const sessions: http2.ClientHttp2Session[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pk-mock-cli-'));
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map(closeSession));
  await rm(dir, { recursive: true, force: true });
});

/** Runs the command until `stop()`; resolves with its printed lines once it has started. */
async function run(args: string[]) {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const stdout = new PassThrough();
  let printed = '';
  stdout.on('data', (chunk: Buffer) => {
    printed += chunk.toString();
  });
  const program = new Command('pushkeeper').exitOverride();
  registerMockApnsCommand(program, { stdout, untilStopped: () => stopped });
  const finished = program.parseAsync(['node', 'pushkeeper', 'mock-apns', ...args]);
  for (let i = 0; i < 400 && !printed.includes('Ctrl+C'); i++) {
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 10))]);
  }
  const field = (label: string) => new RegExp(`${label}[^\\n]*?: (\\S+)`).exec(printed)?.[1];
  return {
    printed: () => printed,
    apnsUrl: field('Mock APNs')!,
    controlUrl: field('Control API'),
    feedback: field('Mock feedback service'),
    caPath: field('Trust this CA')!,
    async stop() {
      stop();
      await finished;
    },
  };
}

describe('pushkeeper mock-apns', () => {
  it('serves the devices file and keys from flags, and is driven by the control API', async () => {
    const devicesFile = path.join(dir, 'devices.json');
    await writeFile(devicesFile, JSON.stringify([{ token: DEVICE, topic: TOPIC }]));
    const keyFile = path.join(dir, 'key.pub');
    await writeFile(keyFile, key.publicKeyPem);
    const cli = await run([
      '--port',
      '0',
      '--control-port',
      '0',
      '--feedback-port',
      '0',
      '--devices',
      devicesFile,
      '--key-id',
      key.keyId,
      '--team-id',
      key.teamId,
      '--public-key-file',
      keyFile,
      '--out',
      dir,
    ]);
    try {
      expect(cli.caPath).toBe(path.join(dir, 'ca.pem'));
      expect(cli.feedback).toMatch(/^127\.0\.0\.1:\d+$/);
      const ca = await readFile(cli.caPath, 'utf8');
      const session = connect(cli.apnsUrl, { ca });
      sessions.push(session);
      const send = (token: string) =>
        push(session, { token, headers: { authorization: `bearer ${jwt}`, 'apns-topic': TOPIC } });

      expect((await send(DEVICE)).status).toBe(200);
      expect((await send(LATER_DEVICE)).body).toEqual({ reason: 'BadDeviceToken' });

      const control = (route: string, init?: RequestInit) => fetch(`${cli.controlUrl}${route}`, init);
      const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body) });
      expect((await control('/devices', json({ token: LATER_DEVICE, topic: TOPIC }))).status).toBe(201);
      expect((await send(LATER_DEVICE)).status).toBe(200);
      expect((await control(`/devices/${DEVICE}?timestamp=1700000000000`, { method: 'DELETE' })).status).toBe(
        204,
      );
      expect((await send(DEVICE)).body).toEqual({ reason: 'Unregistered', timestamp: 1_700_000_000_000 });

      const notifications = (await (await control('/notifications')).json()) as {
        token: string;
        payload: unknown;
      }[];
      expect(notifications.map((n) => n.token)).toEqual([DEVICE, LATER_DEVICE]);
      expect(notifications[0]?.payload).toEqual({ aps: { alert: 'hello' } });
      expect(JSON.stringify(notifications)).not.toContain(jwt);
      const rejections = (await (await control('/rejections')).json()) as { reason: string }[];
      expect(rejections.map((r) => r.reason)).toEqual(['BadDeviceToken', 'Unregistered']);

      const other = generateSigningKey({ teamId: 'TEAM000002', keyId: 'KEY0000002' });
      expect((await control('/keys', json({ ...other, privateKeyPem: undefined }))).status).toBe(201);
      const faults = await control('/faults', {
        method: 'PUT',
        body: JSON.stringify({
          statusWindow: { status: 503, reason: 'Shutdown', untilMs: Date.now() + 600_000 },
        }),
      });
      expect(faults.status).toBe(204);
      expect((await send(DEVICE)).body).toEqual({ reason: 'Shutdown' });

      expect((await control('/devices', json({ token: 'nothex', topic: TOPIC }))).status).toBe(400);
      expect((await control('/nowhere')).status).toBe(404);
      const feedback = await control('/feedback', json({ tuples: [{ token: DEVICE, timestampSeconds: 1 }] }));
      expect(feedback.status).toBe(202);
    } finally {
      await cli.stop();
    }
    expect(cli.printed()).toContain('Mock APNs stopped.');
  });

  it('applies --fault flags and --sandbox', async () => {
    const cli = await run([
      '--port',
      '0',
      '--sandbox',
      '--accept-all',
      '--fault',
      'goaway-every=2',
      '--out',
      dir,
    ]);
    try {
      const session = connect(cli.apnsUrl, { ca: await readFile(cli.caPath, 'utf8') });
      sessions.push(session);
      const goAway = new Promise<number>((resolve) => session.once('goaway', (_code, last) => resolve(last)));
      const first = await push(session, { token: DEVICE });
      expect(first.headers['apns-unique-id']).toBeDefined();
      expect((await push(session, { token: DEVICE })).status).toBe(200);
      expect(await goAway).toBe(3);
    } finally {
      await cli.stop();
    }
  });

  it('refuses an unknown fault as a usage error', async () => {
    const program = new Command('pushkeeper').exitOverride();
    registerMockApnsCommand(program, { stdout: new PassThrough(), untilStopped: () => Promise.resolve() });
    await expect(
      program.parseAsync(['node', 'pushkeeper', 'mock-apns', '--port', '0', '--fault', 'explode=1']),
    ).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('unknown fault'),
    });
  });
});

describe('parseFaultFlags', () => {
  it('turns each flag into its fault', () => {
    const parsed = parseFaultFlags(
      [
        'goaway-every=500',
        'goaway-behind=2',
        'goaway-first=BadCertificateEnvironment',
        'destroy-rate=0.01',
        'never-respond-rate=0.5',
        'delay=10-50',
        'status=503:Shutdown:30:60000',
        'drop-limit-after-rejection',
        'ignore-pings',
        'seed=42',
      ],
      1000,
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        goAwayAfterStreams: { every: 500, lastStreamIdBehind: 2 },
        goAwayOnFirstRequest: { reason: 'BadCertificateEnvironment' },
        destroySessionRate: 0.01,
        neverRespondRate: 0.5,
        delayMs: { min: 10, max: 50 },
        statusWindow: { status: 503, reason: 'Shutdown', retryAfterSeconds: 30, untilMs: 61_000 },
        dropStreamLimitAfterRejection: true,
        ignorePings: true,
        faultSeed: 42,
      },
    });
    expect(parseFaultFlags(['delay=7', 'status=429:TooManyRequests:1000'], 0)).toEqual({
      ok: true,
      value: {
        delayMs: { min: 7, max: 7 },
        statusWindow: { status: 429, reason: 'TooManyRequests', untilMs: 1000 },
      },
    });
  });

  it('rejects malformed flags as values', () => {
    for (const flag of [
      'goaway-every=0',
      'destroy-rate=2',
      'delay=9-3',
      'status=404:X:10',
      'status=503',
      'seed=x',
      'nope',
    ]) {
      const parsed = parseFaultFlags([flag], 0);
      expect(parsed.ok, flag).toBe(false);
      if (!parsed.ok) expect(parsed.error.code).toBe('PK_ERR_VALIDATION');
    }
    expect(parseFaultFlags(['goaway-behind=1'], 0).ok).toBe(false);
  });
});
