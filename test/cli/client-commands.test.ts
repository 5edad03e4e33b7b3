/**
 * The client commands in-process against a real API server listening on 127.0.0.1 (real socket,
 * real SQLite store; the push service is the test fake at the service seam).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceToken } from '../../src/domain/index.ts';
import { registerClientCommands } from '../../src/cli/commands/index.ts';
import type { ClientIo } from '../../src/cli/commands/index.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { createHarness, type Harness, P8_KEY, tokenFor } from '../http/harness.ts';

let h: Harness;
let url: string;
let dir: string;

interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

async function run(
  args: readonly string[],
  env: Record<string, string> = {},
  isTTY = false,
): Promise<RunResult> {
  const out: string[] = [];
  const err: string[] = [];
  let code = -1;
  const io: ClientIo = {
    stdout: { write: (text: string) => out.push(text), isTTY },
    stderr: { write: (text: string) => err.push(text), isTTY: false },
    env: { PUSHKEEPER_URL: url, PUSHKEEPER_DATA_DIR: dir, ...env },
    sleep: () => new Promise((resolve) => setTimeout(resolve, 5)),
    setExitCode: (value) => {
      code = value;
    },
  };
  // A program with only the client commands, wired to the captured io (buildProgram wires process io).
  const program = new Command('pushkeeper')
    .exitOverride()
    .configureOutput({ writeOut: (text) => out.push(text), writeErr: (text) => err.push(text) });
  registerClientCommands(program, io);
  try {
    await program.parseAsync(['node', 'pushkeeper', ...args]);
  } catch (error) {
    code = (error as { exitCode?: number }).exitCode ?? 1;
  }
  return { stdout: out.join(''), stderr: err.join(''), code };
}

beforeAll(async () => {
  h = await createHarness();
  url = await h.app.listen({ host: '127.0.0.1', port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'pk-cli-'));
  // The admin token file the server generated on first start, as `serve` leaves it.
  writeFileSync(join(dir, 'admin-token'), `${h.adminToken}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'AuthKey.p8'), P8_KEY);
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

async function createApp(name = 'CLI app'): Promise<{ id: string; apiKey: string; publishableKey: string }> {
  const result = await run([
    'apps',
    'create',
    '--name',
    name,
    '--topic',
    'com.example.cli',
    '--p8',
    join(dir, 'AuthKey.p8'),
    '--key-id',
    'KEYID12345',
    '--team-id',
    'TEAM123456',
    '--feedback-host',
    '127.0.0.1',
    '--json',
  ]);
  expect(result.code, result.stderr).toBe(EXIT.ok);
  return JSON.parse(result.stdout);
}

describe('apps and keys', () => {
  it('creates an app with the admin token file and prints its keys for people', async () => {
    const result = await run([
      'apps',
      'create',
      '--name',
      'People',
      '--topic',
      'com.example.people',
      '--p8',
      join(dir, 'AuthKey.p8'),
      '--key-id',
      'KEYID12345',
      '--team-id',
      'TEAM123456',
      '--production-url',
      'https://127.0.0.1:4443',
    ]);
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/^id: +app_/m);
    expect(result.stdout).toMatch(/^server key: +pk_server_/m);
    expect(result.stdout).toMatch(/^publishable key: +pk_pub_/m);
    expect(result.stdout).toContain('https://127.0.0.1:4443');
    expect(result.stdout).not.toContain('\u001b['); // no colours off a terminal
  });

  it('lists, shows and rotates apps', async () => {
    const app = await createApp('Rotating');
    const listed = await run(['apps', 'list']);
    expect(listed.code).toBe(EXIT.ok);
    expect(listed.stdout).toMatch(/^id +name +topic/m);
    expect(listed.stdout).toContain(app.id);
    const shown = await run(['apps', 'show', app.id, '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: app.id, name: 'Rotating' });
    const rotated = await run([
      'apps',
      'rotate',
      app.id,
      '--p8',
      join(dir, 'AuthKey.p8'),
      '--key-id',
      'KEYID99999',
      '--team-id',
      'TEAM999999',
    ]);
    expect(rotated.code, rotated.stderr).toBe(EXIT.ok);
    expect((await h.store.apps.getSecrets(app.id))?.credentials).toMatchObject({ keyId: 'KEYID99999' });
    // Rotate changes only what it is given: a CA alone keeps both endpoints, an endpoint alone the CA.
    const endpointsRotated = await run(['apps', 'rotate', app.id, '--production-url', 'https://127.0.0.1:4443', '--sandbox-url', 'https://127.0.0.1:4444']);
    expect(endpointsRotated.code, endpointsRotated.stderr).toBe(EXIT.ok);
    const { createTestPki } = await import('../../src/testing/index.ts');
    writeFileSync(join(dir, 'ca.pem'), (await createTestPki()).caCertPem);
    expect((await run(['apps', 'rotate', app.id, '--ca', join(dir, 'ca.pem')])).code).toBe(EXIT.ok);
    expect((await run(['apps', 'rotate', app.id, '--production-url', 'https://127.0.0.1:5443'])).code).toBe(EXIT.ok);
    expect((await h.store.apps.get(app.id))?.endpoints).toMatchObject({ production: 'https://127.0.0.1:5443', sandbox: 'https://127.0.0.1:4444' });
    expect((await h.store.apps.get(app.id))?.endpoints?.caPem).toContain('BEGIN CERTIFICATE');
    const details = await run(['apps', 'show', app.id]);
    expect(details.stdout).toContain('https://127.0.0.1:5443');
    expect(details.stdout).toContain('https://127.0.0.1:4444');
    expect(details.stdout).toMatch(/SHA-256 [0-9A-F:]+/);
    const nothing = await run(['apps', 'rotate', app.id]);
    expect(nothing.code).toBe(EXIT.usage);
    const missing = await run(['apps', 'show', 'app_missing']);
    expect(missing.code).toBe(EXIT.failure);
    expect(missing.stderr).toContain('PK_ERR_APP_NOT_FOUND');
  });

  it('creates, lists and revokes keys', async () => {
    const app = await createApp('Keys');
    const created = await run([
      'keys',
      'create',
      '--app',
      app.id,
      '--scope',
      'publishable',
      '--key',
      app.apiKey,
      '--json',
    ]);
    const key = JSON.parse(created.stdout);
    expect(key.key).toMatch(/^pk_pub_/);
    const listed = await run(['keys', 'list', '--app', app.id, '--key', app.apiKey]);
    expect(listed.stdout).toContain(key.id);
    const revoked = await run(['keys', 'revoke', key.id, '--app', app.id, '--key', app.apiKey]);
    expect(revoked.code).toBe(EXIT.ok);
    expect((await h.store.keys.list(app.id)).find((k) => k.id === key.id)?.revokedAt).not.toBeNull();
    const bad = await run(['keys', 'create', '--app', app.id, '--scope', 'admin']);
    expect(bad.code).toBe(EXIT.usage);
  });
});

describe('devices', () => {
  it('registers and lists devices with PUSHKEEPER_API_KEY', async () => {
    const app = await createApp('Devices');
    const env = { PUSHKEEPER_API_KEY: app.apiKey };
    const registered = await run(
      ['devices', 'register', tokenFor(1), '--app', app.id, '--alias', '42', '--tag', 'beta', '--tag', 'x'],
      env,
    );
    expect(registered.code, registered.stderr).toBe(EXIT.ok);
    expect(registered.stdout).toContain(`registered ${tokenFor(1)}`);
    const again = await run(
      ['devices', 'register', tokenFor(1), '--app', app.id, '--environment', 'sandbox'],
      env,
    );
    expect(again.stdout).toContain('refreshed');
    const listed = await run(['devices', 'list', '--app', app.id, '--alias', '42', '--json'], env);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      { token: tokenFor(1), environment: 'sandbox', alias: '42', tags: ['beta', 'x'] },
    ]);
    const bad = await run(['devices', 'register', 'xyz', '--app', app.id], env);
    expect(bad.code).toBe(EXIT.failure);
    expect(bad.stderr).toContain('PK_ERR_TOKEN_INVALID');
  });

  it('imports NDJSON with progress lines, reports rejected lines (exit 4), and exports what import reads', async () => {
    const app = await createApp('Import');
    const env = { PUSHKEEPER_API_KEY: app.apiKey };
    const lines = Array.from({ length: 1500 }, (_, i) =>
      JSON.stringify({ token: tokenFor(0x1000 + i), alias: `u${i % 3}` }),
    );
    lines.splice(10, 0, 'not json');
    const file = join(dir, 'devices.ndjson');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const imported = await run(['devices', 'import', file, '--app', app.id], env);
    expect(imported.code, imported.stderr).toBe(EXIT.partial);
    expect(imported.stdout).toContain('created 1500, updated 0, rejected 1');
    expect(imported.stdout).toMatch(/^11 +PK_ERR_IMPORT_LINE_INVALID/m);
    expect(imported.stderr).toMatch(/^import: \d+\/\d+ bytes/m);

    const out = join(dir, 'export.ndjson');
    const exported = await run(['devices', 'export', '--app', app.id, '--out', out], env);
    expect(exported.code, exported.stderr).toBe(EXIT.ok);
    expect(exported.stdout).toContain('exported 1500 devices');
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows).toHaveLength(1500);
    expect(new Set(rows.map((r: { token: string }) => r.token)).size).toBe(1500);

    // The export is valid import input for another app.
    const copy = await createApp('Copy');
    const reimported = await run(['devices', 'import', out, '--app', copy.id, '--json'], {
      PUSHKEEPER_API_KEY: copy.apiKey,
    });
    expect(reimported.code).toBe(EXIT.ok);
    expect(JSON.parse(reimported.stdout)).toMatchObject({ created: 1500, rejected: 0 });
  });

  it('exports to stdout', async () => {
    const app = await createApp('Stdout');
    await h.store.devices.register(app.id, { token: tokenFor(7), alias: 'a' });
    const exported = await run(['devices', 'export', '--app', app.id, '--key', app.apiKey]);
    expect(JSON.parse(exported.stdout.trim())).toMatchObject({ token: tokenFor(7), alias: 'a' });
  });
});

describe('push, notifications, feedback', () => {
  it('pushes by alias and, with --wait, prints the outcome per device (exit 4 when one was invalidated)', async () => {
    const app = await createApp('Push');
    for (const n of [1, 2]) await h.store.devices.register(app.id, { token: tokenFor(n), alias: '42' });
    // Stand-in for the pipeline: complete the notification soon after it is accepted.
    const accept = h.push.accept.bind(h.push);
    h.push.accept = async (appId, request, options) => {
      const accepted = await accept(appId, request, options);
      if (accepted.ok) {
        const id = accepted.value.notification.id;
        setTimeout(async () => {
          await h.store.notifications.transition(appId, id, ['queued'], 'sending');
          await h.store.notifications.checkpointFanout(appId, id, {
            cursor: null,
            targetedDelta: 2,
            complete: true,
          });
          await h.store.notifications.recordOutcomes(appId, id, [
            { token: tokenFor(1) as DeviceToken, outcome: 'accepted', apnsId: null },
            { token: tokenFor(2) as DeviceToken, outcome: 'invalidated', reason: 'Unregistered' },
          ]);
          await h.store.notifications.transition(appId, id, ['sending'], 'done');
        }, 30);
      }
      return accepted;
    };
    try {
      const result = await run([
        'push',
        '--app',
        app.id,
        '--alias',
        '42',
        '--alert',
        'Hello',
        '--wait',
        '--key',
        app.apiKey,
      ]);
      expect(result.code, result.stderr).toBe(EXIT.partial);
      expect(result.stdout).toMatch(/notification ntf_\S+: done/);
      expect(result.stdout).toContain('targeted 2, accepted 1, rejected 0, invalidated 1');
      expect(result.stdout).toMatch(new RegExp(`^${tokenFor(2)} +invalidated +Unregistered`, 'm'));
      expect(result.stdout).toContain('1 device accepted by APNs');

      const id = /notification (ntf_\S+):/.exec(result.stdout)![1]!;
      const shown = await run(['notifications', 'show', id, '--app', app.id, '--key', app.apiKey, '--json']);
      expect(shown.code).toBe(EXIT.ok);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        id,
        status: 'done',
        failures: [{ token: tokenFor(2), reason: 'Unregistered' }],
      });
    } finally {
      h.push.accept = accept;
    }
  });

  it('pushes without --wait, prints the id and says how many given tokens are not registered (exit 4)', async () => {
    const app = await createApp('NoWait');
    expect((await run(['devices', 'register', '--app', app.id, tokenFor(1)])).code).toBe(EXIT.ok);
    const result = await run([
      'push',
      '--app',
      app.id,
      '--tokens',
      `${tokenFor(1)},${tokenFor(2)}`,
      '--title',
      'T',
      '--alert',
      'B',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(EXIT.partial);
    const answer = JSON.parse(result.stdout);
    expect(answer.unregisteredTokens).toBe(1);
    const stored = await h.store.notifications.get(app.id, answer.id);
    expect(JSON.parse(stored!.payload)).toEqual({ aps: { alert: { title: 'T', body: 'B' } } });
  });

  it('refuses two audiences (exit 2) and a missing alert (exit 2)', async () => {
    const app = await createApp('Usage');
    expect((await run(['push', '--app', app.id, '--alias', '1', '--all', '--alert', 'x'])).code).toBe(
      EXIT.usage,
    );
    expect((await run(['push', '--app', app.id, '--alias', '1'])).code).toBe(EXIT.usage);
  });

  it('polls the feedback service', async () => {
    const app = await createApp('Feedback');
    const result = await run(['feedback', 'poll', '--app', app.id]);
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/^tuplesRead: +2/m);
  });
});

describe('exit codes', () => {
  it('exits 3 when the server cannot be reached and 1 with a wrong key', async () => {
    const unreachable = await run(['apps', 'list'], { PUSHKEEPER_URL: 'http://127.0.0.1:1' });
    expect(unreachable.code).toBe(EXIT.unavailable);
    expect(unreachable.stderr).toContain('Cannot reach');
    const wrong = await run(['apps', 'list', '--key', 'pk_admin_wrong']);
    expect(wrong.code).toBe(EXIT.failure);
    expect(wrong.stderr).toContain('PK_ERR_UNAUTHENTICATED');
  });

  it('exits 3 while the server is shutting down (503)', async () => {
    h.shuttingDown = true;
    try {
      expect((await run(['apps', 'list'])).code).toBe(EXIT.unavailable);
    } finally {
      h.shuttingDown = false;
    }
  });
});
