/**
 * One writer per SQLite data directory, with real `serve` processes: a second one on the same
 * directory exits at once, non-zero, naming the directory and the running process; the lock of a
 * SIGKILLed process does not block the next start.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PushkeeperProcesses } from '../service/fixtures/pushkeeper-process.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function runToExit(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('one writer per SQLite data directory', () => {
  const processes = new PushkeeperProcesses();
  let dir: string | undefined;
  afterEach(async () => {
    await processes.killAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a second serve exits non-zero naming the directory and the pid; a killed holder does not block', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pk-single-writer-'));
    const dataDir = join(dir, 'data');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: dir,
      PUSHKEEPER_DATA_DIR: dataDir,
      PUSHKEEPER_PORT: '0',
      PUSHKEEPER_LOG_LEVEL: 'info',
    };
    const first = await processes.start(['serve'], env, { timeoutMs: 60_000 });
    const second = await runToExit(env);
    expect(second.code).not.toBe(0);
    expect(second.output).toContain(dataDir);
    expect(second.output).toContain(`pid ${first.child.pid}`);
    expect(first.child.exitCode).toBeNull();

    await first.stop('SIGKILL');
    const third = await processes.start(['serve'], env, { timeoutMs: 60_000 });
    expect(third.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await third.stop('SIGTERM')).code).toBe(0);
  }, 120_000);
});
