import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveAdminToken, resolveSecretKey } from '../../src/cli/secrets.ts';
import { PushkeeperError } from '../../src/errors.ts';

describe('first-start secrets', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'pk-secrets-'));
    dirs.push(dir);
    return join(dir, 'data');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('generates the admin token once, mode 0600, and reads it back afterwards', () => {
    const dir = dataDir();
    const first = resolveAdminToken(dir, undefined);
    expect(first.generated).toBe(true);
    expect(first.value).toMatch(/^pk_admin_[A-Za-z0-9_-]{43}$/);
    expect(statSync(first.path!).mode & 0o777).toBe(0o600);
    const again = resolveAdminToken(dir, undefined);
    expect(again).toEqual({ value: first.value, path: first.path, generated: false });
    expect(resolveAdminToken(dir, 'x'.repeat(40))).toEqual({ value: 'x'.repeat(40), generated: false });
  });

  it('generates a 32-byte secret key, accepts hex or base64, rejects other lengths', () => {
    const dir = dataDir();
    const generated = resolveSecretKey(dir, undefined);
    expect(generated.key).toHaveLength(32);
    expect(readFileSync(generated.secret.path!, 'utf8').trim()).toBe(generated.key.toString('hex'));
    expect(resolveSecretKey(dir, undefined).key.equals(generated.key)).toBe(true);
    const hex = 'ab'.repeat(32);
    expect(resolveSecretKey(dir, hex).key.toString('hex')).toBe(hex);
    const base64 = Buffer.alloc(32, 7).toString('base64url');
    expect(resolveSecretKey(dir, base64).key.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(() => resolveSecretKey(dir, 'abcd')).toThrow(PushkeeperError);
  });

  it('tightens a key file restored with loose permissions', () => {
    const dir = dataDir();
    const first = resolveAdminToken(dir, undefined);
    writeFileSync(first.path!, `${first.value}\n`, { mode: 0o644 });
    chmodSync(first.path!, 0o644);
    resolveAdminToken(dir, undefined);
    expect(statSync(first.path!).mode & 0o777).toBe(0o600);
  });
});
