/**
 * The newcomer's path with real processes: `pushkeeper serve` and `pushkeeper mock-apns`
 * on free ports, then the client commands: create an app pointed at the mock, register two devices
 * for one alias, push by alias and watch the token the mock reports unregistered get removed.
 * The README quickstart should run these same commands.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const T1 = 'b1'.repeat(32);
const T2 = 'c2'.repeat(32);

let dir: string;
const children: ChildProcess[] = [];
const serverOutput: string[] = [];
let env: NodeJS.ProcessEnv;

/** Starts a long-running command and resolves with the first match of `pattern` in its output. */
function start(args: readonly string[], pattern: RegExp, output: string[]): Promise<string> {
  const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      seen += text;
      const match = pattern.exec(seen);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${seen}`)));
  });
}

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pk-quickstart-'));
  const p8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  });
  writeFileSync(join(dir, 'AuthKey_KEYID12345.p8'), p8);
  // The mock knows both tokens; it reports the second one unregistered (at a time after it registers).
  writeFileSync(
    join(dir, 'mock-devices.json'),
    JSON.stringify([
      { token: T1, topic: 'com.example.app' },
      { token: T2, topic: 'com.example.app', unregisteredAt: Date.now() + 3_600_000, reason: 'Unregistered' },
    ]),
  );
  env = {
    PATH: process.env['PATH'],
    HOME: dir,
    PUSHKEEPER_DATA_DIR: join(dir, 'data'),
    PUSHKEEPER_PORT: '0',
    NO_COLOR: '1',
  };
  const mockOutput: string[] = [];
  const [apiUrl, mockUrl] = await Promise.all([
    start(['serve'], /listening on (http:\/\/127\.0\.0\.1:\d+)/, serverOutput),
    start(
      [
        'mock-apns',
        '--port',
        '0',
        '--devices',
        join(dir, 'mock-devices.json'),
        '--key-id',
        'KEYID12345',
        '--team-id',
        'TEAM123456',
        '--public-key-file',
        join(dir, 'AuthKey_KEYID12345.p8'),
        '--out',
        join(dir, 'mock'),
      ],
      /(https:\/\/127\.0\.0\.1:\d+)/,
      mockOutput,
    ),
  ]);
  env = { ...env, PUSHKEEPER_URL: apiUrl, MOCK_URL: mockUrl };
}, 120_000);

afterAll(async () => {
  // Wait for each process to finish its graceful stop while its output is still read; a process
  // whose output pipe was closed first was seen hanging in its exit-time log flush (Atomics.wait).
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

it('runs the quickstart: app on the mock, two devices for one alias, push, one token removed', async () => {
  const created = await cli([
    'apps',
    'create',
    '--name',
    'Example',
    '--topic',
    'com.example.app',
    '--p8',
    join(dir, 'AuthKey_KEYID12345.p8'),
    '--key-id',
    'KEYID12345',
    '--team-id',
    'TEAM123456',
    '--production-url',
    env['MOCK_URL']!,
    '--sandbox-url',
    env['MOCK_URL']!,
    '--ca',
    join(dir, 'mock', 'ca.pem'),
    '--json',
  ]);
  expect(created.code, created.stderr).toBe(0);
  const app = JSON.parse(created.stdout) as { id: string; apiKey: string };
  env = { ...env, PUSHKEEPER_API_KEY: app.apiKey };

  for (const token of [T1, T2]) {
    const registered = await cli(['devices', 'register', '--app', app.id, token, '--alias', '42']);
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toContain(`registered ${token}`);
  }

  const pushed = await cli([
    'push',
    '--app',
    app.id,
    '--alias',
    '42',
    '--alert',
    'Hello',
    '--wait',
    '--timeout',
    '20',
  ]);
  expect(pushed.stdout).toMatch(/notification ntf_\S+: done/);
  expect(pushed.stdout).toContain('targeted 2, accepted 1');
  expect(pushed.stdout).toMatch(new RegExp(`^${T2} +\\S+ +Unregistered`, 'm'));
  expect(pushed.stdout).toContain('1 device accepted by APNs');
  expect(pushed.code).toBe(4);

  const listed = await cli(['devices', 'list', '--app', app.id, '--alias', '42', '--json']);
  expect(JSON.parse(listed.stdout).map((d: { token: string }) => d.token)).toEqual([T1]);
  const invalidations = await cli(['invalidations', '--app', app.id, '--json']);
  expect(invalidations.code, invalidations.stderr).toBe(0);
  expect(JSON.parse(invalidations.stdout).map((i: { token: string }) => i.token)).toEqual([T2]);

  // Nothing secret reached the server's log.
  const log = serverOutput.join('');
  expect(log.length).toBeGreaterThan(0);
  for (const pattern of [/[0-9a-fA-F]{64}/, /eyJ[A-Za-z0-9_-]{4,}/, /-----BEGIN/, /pk_(server|pub|admin)_/]) {
    expect(log).not.toMatch(pattern);
  }
  expect(readFileSync(join(dir, 'data', 'admin-token'), 'utf8')).toMatch(/^pk_admin_/);
}, 60_000);
