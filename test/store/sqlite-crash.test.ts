/**
 * The SQLite crash test: a child process registering devices in a loop is killed with SIGKILL at
 * random moments, 20 times. Every registration it acknowledged must be in the database afterwards
 * and `PRAGMA integrity_check` must answer `ok`. This is the guarantee WAL + synchronous=NORMAL
 * gives for process crashes (docs/store.md).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';

const CHILD = join(import.meta.dirname, 'crash-child.ts');
const KILLS = 20;

describe('sqlite store survives SIGKILL', () => {
  let dir: string;
  let file: string;
  let appId: string;
  const secretKey = randomBytes(32);
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pk-crash-'));
    file = join(dir, 'crash.db');
    const store = openStore({ url: `sqlite:${file}`, secretKey });
    await store.migrate();
    const app = await store.apps.create({
      name: 'Crash',
      topic: 'com.example.crash',
      credentials: { auth: 'token', teamId: 'T', keyId: 'K', privateKey: 'P' },
    });
    if (!app.ok) throw new Error('app');
    appId = app.value.id;
    await store.close();
  });

  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs one child until it has acknowledged at least `minAcks` writes plus a random extra delay, then SIGKILLs it. */
  function runAndKill(salt: number, minAcks: number, extraMs: number): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [CHILD, file, appId, secretKey.toString('hex'), salt.toString(16)],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      children.add(child);
      const acked: string[] = [];
      let buffered = '';
      let stderr = '';
      let killTimer: NodeJS.Timeout | undefined;
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (line.startsWith('ack ')) acked.push(line.slice(4));
        }
        if (acked.length >= minAcks && killTimer === undefined) {
          killTimer = setTimeout(() => child.kill('SIGKILL'), extraMs);
        }
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('exit', (_code, signal) => {
        children.delete(child);
        clearTimeout(killTimer);
        if (signal !== 'SIGKILL') reject(new Error(`child exited on its own: ${stderr}`));
        else resolve(acked);
      });
    });
  }

  it(`keeps every acknowledged registration across ${KILLS} kills, integrity ok`, async () => {
    let totalAcked = 0;
    for (let round = 1; round <= KILLS; round++) {
      // Random moments: after 1..40 acknowledgements plus 0..30 ms more of writing.
      const acked = await runAndKill(
        round,
        1 + Math.floor(Math.random() * 40),
        Math.floor(Math.random() * 30),
      );
      expect(acked.length).toBeGreaterThan(0);
      totalAcked += acked.length;

      const db = new DatabaseSync(file);
      try {
        expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
        // devices holds the app's integer key and the token's bytes (migration 0003).
        const present = db.prepare(
          'SELECT count(*) AS n FROM devices d JOIN app_keys k ON k.key = d.app_key WHERE k.app_id = ? AND d.token = unhex(?)',
        );
        const missing = acked.filter((token) => (present.get(appId, token) as { n: number }).n !== 1);
        expect(missing).toEqual([]);
        // Tags are written in the same transaction as the device: never half a registration.
        const orphans = db
          .prepare(
            "SELECT count(*) AS n FROM devices d JOIN app_keys k ON k.key = d.app_key WHERE k.app_id = ? AND NOT EXISTS (SELECT 1 FROM device_tags t WHERE t.device_id = d.id AND t.tag = 'crash')",
          )
          .get(appId) as { n: number };
        expect(orphans.n).toBe(0);
      } finally {
        db.close();
      }
    }
    expect(totalAcked).toBeGreaterThanOrEqual(KILLS);
  });
});
