/**
 * The CLI contract of docs/cli.md, as one table over real processes: `pushkeeper serve` and
 * `pushkeeper mock-apns` on free ports, a server that is not Pushkeeper, a closed port, and every
 * command run as its own process. Each row states the exit code and, with --json, the one document
 * stdout must hold: `{"error": {"code", "message", "details"}}` for a failure (nothing else on
 * stdout), the answer for a success.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const T1 = 'd1'.repeat(32);
const T_UNKNOWN = 'e2'.repeat(32);

let dir: string;
const children: ChildProcess[] = [];
let env: NodeJS.ProcessEnv;
let notPushkeeper: Server;
let otherUrl: string;
let closedUrl: string;
/** Accepts TCP connections and never answers: an APNs endpoint where a push stays `sending`. */
let blackHole: TcpServer;
const blackHoleSockets = new Set<Socket>();
let blackHoleUrl: string;

function start(args: readonly string[], pattern: RegExp): Promise<string> {
  const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${seen}`)));
  });
}

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...env, ...extraEnv } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pk-contract-'));
  const p8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  writeFileSync(join(dir, 'AuthKey.p8'), p8);
  writeFileSync(join(dir, 'empty.p8'), '');
  writeFileSync(join(dir, 'file'), 'not a directory');
  mkdirSync(join(dir, 'elsewhere'));
  writeFileSync(join(dir, 'mock-devices.json'), JSON.stringify([{ token: T1, topic: 'com.example.app' }]));
  env = { PATH: process.env['PATH'], HOME: dir, PUSHKEEPER_DATA_DIR: join(dir, 'data'), PUSHKEEPER_PORT: '0', NO_COLOR: '1' };

  notPushkeeper = createServer((_request, response) => {
    response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
  });
  await new Promise<void>((resolve) => notPushkeeper.listen(0, '127.0.0.1', resolve));
  otherUrl = `http://127.0.0.1:${(notPushkeeper.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((resolve) => closed.close(resolve));
  blackHole = createTcpServer((socket) => {
    blackHoleSockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => blackHoleSockets.delete(socket));
  });
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  blackHoleUrl = `https://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;

  const [apiUrl, mockUrl] = await Promise.all([
    start(['serve'], /listening on (http:\/\/127\.0\.0\.1:\d+)/),
    start(
      ['mock-apns', '--port', '0', '--devices', join(dir, 'mock-devices.json'), '--key-id', 'KEYID12345',
        '--team-id', 'TEAM123456', '--public-key-file', join(dir, 'AuthKey.p8'), '--out', join(dir, 'mock')],
      /(https:\/\/127\.0\.0\.1:\d+)/,
    ),
  ]);
  env = { ...env, PUSHKEEPER_URL: apiUrl, MOCK_URL: mockUrl };
}, 120_000);

afterAll(async () => {
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
  await new Promise((resolve) => notPushkeeper.close(resolve));
  for (const socket of blackHoleSockets) socket.destroy();
  await new Promise((resolve) => blackHole.close(resolve));
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

interface Row {
  readonly args: readonly string[];
  readonly exit: number;
  /** The error code of the --json document; null: a success document (no `error`). */
  readonly code: string | null;
  readonly env?: NodeJS.ProcessEnv;
  /** Without --json: only the exit code and, for a failure, the code on stderr. */
  readonly human?: boolean;
  readonly check?: (document: Record<string, unknown>, ran: Ran) => void;
}

it('every command answers the exit codes and --json documents of docs/cli.md', async () => {
  const created = await cli([
    'apps', 'create', '--name', 'Contract', '--topic', 'com.example.app', '--p8', join(dir, 'AuthKey.p8'),
    '--key-id', 'KEYID12345', '--team-id', 'TEAM123456', '--production-url', env['MOCK_URL']!,
    '--sandbox-url', env['MOCK_URL']!, '--ca', join(dir, 'mock', 'ca.pem'), '--json',
  ]);
  expect(created.code, created.stderr).toBe(0);
  const app = JSON.parse(created.stdout) as { id: string; apiKey: string };
  env = { ...env, PUSHKEEPER_API_KEY: app.apiKey };
  const A = app.id;
  const registered = await cli(['devices', 'register', '--app', A, T1, '--alias', '42', '--json']);
  expect(registered.code, registered.stderr).toBe(0);

  // A second app whose APNs endpoint accepts connections and never answers: its push stays
  // `sending` far longer than a one-second --wait, which must end with exit 5.
  const stuck = await cli([
    'apps', 'create', '--name', 'Stuck', '--topic', 'com.example.app', '--p8', join(dir, 'AuthKey.p8'),
    '--key-id', 'KEYID12345', '--team-id', 'TEAM123456', '--production-url', blackHoleUrl,
    '--sandbox-url', blackHoleUrl, '--json',
  ]);
  expect(stuck.code, stuck.stderr).toBe(0);
  const stuckApp = JSON.parse(stuck.stdout) as { id: string; apiKey: string };
  const stuckKey = { PUSHKEEPER_API_KEY: stuckApp.apiKey };
  const stuckDevice = await cli(['devices', 'register', '--app', stuckApp.id, T1, '--alias', '42', '--json'], stuckKey);
  expect(stuckDevice.code, stuckDevice.stderr).toBe(0);

  const noKey = { PUSHKEEPER_API_KEY: '', PUSHKEEPER_DATA_DIR: join(dir, 'elsewhere') };
  const p8 = ['--key-id', 'KEYID12345', '--team-id', 'TEAM123456'];
  const rows: Row[] = [
    // The program itself.
    { args: [], exit: 0, code: null, human: true, check: (_d, ran) => expect(ran.stdout).toContain('Usage: pushkeeper') },
    { args: ['--version'], exit: 0, code: null, human: true },
    { args: ['bogus', '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    { args: ['push', '--alias', '42', '--alert', 'x', '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    // Connecting.
    { args: ['apps', 'list', '--url', 'localhost:8080', '--json'], exit: 2, code: 'PK_ERR_SERVER_URL_INVALID' },
    { args: ['apps', 'list', '--url', closedUrl, '--json'], exit: 3, code: 'PK_ERR_SERVER_UNREACHABLE' },
    { args: ['apps', 'list', '--url', otherUrl, '--json'], exit: 3, code: 'PK_ERR_NOT_PUSHKEEPER' },
    { args: ['devices', 'list', '--app', A, '--json'], env: noKey, exit: 2, code: 'PK_ERR_NO_API_KEY' },
    { args: ['devices', 'list', '--app', A, '--key', 'pk_server_wrong', '--json'], exit: 1, code: 'PK_ERR_UNAUTHENTICATED' },
    // push
    { args: ['push', '--app', A, '--alias', '42', '--tag', 'x', '--alert', 'x', '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    { args: ['push', '--app', A, '--alias', '42', '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    { args: ['push', '--app', A, '--alias', '42', '--payload', '{"aps":"hi"}', '--json'], exit: 2, code: 'PK_ERR_PAYLOAD_INVALID' },
    { args: ['push', '--app', A, '--alias', '42', '--payload', '[1]', '--json'], exit: 2, code: 'PK_ERR_PAYLOAD_INVALID' },
    { args: ['push', '--app', A, '--alias', '42', '--alert', 'x', '--badge', 'many', '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    { args: ['push', '--app', A, '--alias', '42', '--alert', 'x', '--push-type', 'nope', '--json'], exit: 1, code: 'PK_ERR_PUSH_TYPE_INVALID' },
    {
      args: ['push', '--app', A, '--alias', '42', '--alert', 'Hello', '--wait', '--timeout', '30', '--json'],
      exit: 0,
      code: null,
      check: (d) => expect(d['counts']).toMatchObject({ targeted: 1, accepted: 1 }),
    },
    {
      args: ['push', '--app', A, '--alias', 'nobody', '--alert', 'Hello', '--wait', '--timeout', '30', '--json'],
      exit: 1,
      code: null,
      check: (d) => expect(d['counts']).toMatchObject({ targeted: 0, accepted: 0 }),
    },
    {
      args: ['push', '--app', A, '--tokens', `${T1},${T_UNKNOWN}`, '--alert', 'Hi', '--wait', '--timeout', '30', '--json'],
      exit: 4,
      code: null,
      check: (d) => expect(d['unregisteredTokens']).toBe(1),
    },
    {
      args: ['push', '--app', A, '--tokens', T_UNKNOWN, '--alert', 'Hi', '--json'],
      exit: 1,
      code: null,
      check: (d) => expect(d['unregisteredTokens']).toBe(1),
    },
    {
      args: ['push', '--app', stuckApp.id, '--alias', '42', '--alert', 'Hi', '--wait', '--timeout', '1', '--json'],
      env: stuckKey,
      exit: 5,
      code: 'PK_ERR_WAIT_TIMEOUT',
      check: (d) => expect((d['error'] as { details: { status: string } }).details.status).toMatch(/^(queued|sending)$/),
    },
    // apps
    { args: ['apps', 'list', '--json'], exit: 0, code: null },
    { args: ['apps', 'show', 'app_nope', '--json'], exit: 1, code: 'PK_ERR_APP_NOT_FOUND' },
    { args: ['apps', 'create', '--name', 'X', '--topic', 'com.x', '--p8', join(dir, 'missing.p8'), ...p8, '--json'], exit: 2, code: 'PK_ERR_FILE_UNREADABLE' },
    { args: ['apps', 'create', '--name', 'X', '--topic', 'com.x', '--p8', join(dir, 'empty.p8'), ...p8, '--json'], exit: 2, code: 'PK_ERR_FILE_UNREADABLE' },
    { args: ['apps', 'rotate', A, '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    { args: ['apps', 'delete', A, '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    { args: ['apps', 'delete', 'app_nope', '--yes', '--json'], exit: 1, code: 'PK_ERR_APP_NOT_FOUND' },
    // keys
    { args: ['keys', 'list', '--app', A, '--json'], exit: 0, code: null },
    { args: ['keys', 'create', '--app', A, '--scope', 'root', '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    { args: ['keys', 'revoke', '--app', A, 'key_nope', '--json'], exit: 1, code: 'PK_ERR_KEY_NOT_FOUND' },
    // devices
    { args: ['devices', 'register', '--app', A, 'not-hex', '--json'], exit: 1, code: 'PK_ERR_TOKEN_INVALID' },
    { args: ['devices', 'list', '--app', A, '--json'], exit: 0, code: null },
    { args: ['devices', 'list', '--app', A, '--limit', '0', '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    { args: ['devices', 'show', '--app', A, T1, '--json'], exit: 0, code: null, check: (d) => expect(d['token']).toBe(T1) },
    { args: ['devices', 'show', '--app', A, T_UNKNOWN, '--json'], exit: 1, code: 'PK_ERR_DEVICE_NOT_FOUND' },
    { args: ['devices', 'delete', '--app', A, T_UNKNOWN, '--json'], exit: 1, code: 'PK_ERR_DEVICE_NOT_FOUND' },
    { args: ['devices', 'logout', '--app', A, '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    { args: ['devices', 'unbind', '--app', A, '--alias', 'nobody', '--json'], exit: 0, code: null },
    { args: ['devices', 'import', '--app', A, join(dir, 'missing.ndjson'), '--json'], exit: 2, code: 'PK_ERR_FILE_UNREADABLE' },
    // notifications, invalidations, feedback
    { args: ['notifications', 'list', '--app', A, '--json'], exit: 0, code: null },
    { args: ['notifications', 'show', '--app', A, 'ntf_nope', '--json'], exit: 1, code: 'PK_ERR_NOTIFICATION_NOT_FOUND' },
    { args: ['notifications', 'cancel', '--app', A, 'ntf_nope', '--json'], exit: 1, code: 'PK_ERR_NOTIFICATION_NOT_FOUND' },
    { args: ['invalidations', '--app', A, '--json'], exit: 0, code: null },
    { args: ['invalidations', '--app', A, '--since', 'yesterday', '--json'], exit: 2, code: 'PK_ERR_USAGE' },
    { args: ['feedback', 'poll', '--app', A, '--json'], exit: 1, code: 'PK_ERR_FEEDBACK_NOT_CONFIGURED' },
    // Server commands: configuration and data directory problems are set-up mistakes (exit 2).
    { args: ['serve'], env: { PUSHKEEPER_PORT: '99999' }, exit: 2, code: 'PK_ERR_CONFIG_INVALID', human: true },
    { args: ['worker'], env: { PUSHKEEPER_LOG_LEVEL: 'loud' }, exit: 2, code: 'PK_ERR_CONFIG_INVALID', human: true },
    { args: ['migrate', '--json'], env: { PUSHKEEPER_DATA_DIR: join(dir, 'file', 'data') }, exit: 2, code: 'PK_ERR_DATA_DIR_UNWRITABLE' },
  ];

  // Several processes at a time: each is a whole Node start.
  const results: Array<{ row: Row; ran: Ran; ms: number }> = [];
  for (let i = 0; i < rows.length; i += 12) {
    const batch = rows.slice(i, i + 12);
    results.push(
      ...(await Promise.all(
        batch.map(async (row) => {
          const started = Date.now();
          const ran = await cli(row.args, row.env);
          return { row, ran, ms: Date.now() - started };
        }),
      )),
    );
  }
  for (const { row, ran, ms } of results) {
    const label = `pushkeeper ${row.args.join(' ')} (${ms} ms)\n${ran.stderr}`;
    expect(ran.code, label).toBe(row.exit);
    if (row.human === true) {
      if (row.code !== null) expect(ran.stderr, label).toContain(`(${row.code})`);
      row.check?.({}, ran);
      continue;
    }
    let document: Record<string, unknown>;
    try {
      document = JSON.parse(ran.stdout) as Record<string, unknown>;
    } catch {
      throw new Error(`stdout is not one JSON document: ${label}\n--- stdout:\n${ran.stdout}`);
    }
    if (row.code === null) {
      expect(document, label).not.toHaveProperty('error');
    } else {
      expect(Object.keys(document), label).toEqual(['error']);
      const error = document['error'] as Record<string, unknown>;
      expect(Object.keys(error).sort(), label).toEqual(['code', 'details', 'message']);
      expect(error['code'], label).toBe(row.code);
      expect(typeof error['message'], label).toBe('string');
    }
    row.check?.(document, ran);
  }
}, 400_000);
