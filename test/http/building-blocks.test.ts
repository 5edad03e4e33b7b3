import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bearerToken, generateApiKey, hashApiKey, sha256HexEqual } from '../../src/http/api-keys.ts';
import { KeyCache } from '../../src/http/key-cache.ts';
import { maskUrl, scrubSecrets } from '../../src/http/log-scrub.ts';
import { ndjsonLines } from '../../src/http/ndjson-lines.ts';
import { TokenBucketLimiter } from '../../src/http/rate-limit.ts';
import type { ApiKey } from '../../src/store/contract.ts';

describe('TokenBucketLimiter', () => {
  it('allows a burst up to capacity, then refills over time', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ capacity: 3, refill: 3, perMs: 3000, now: () => now });
    expect([1, 2, 3].map(() => limiter.take('k').allowed)).toEqual([true, true, true]);
    const refused = limiter.take('k');
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take('other').allowed).toBe(true);
    now += 1000;
    expect(limiter.take('k').allowed).toBe(true);
    expect(limiter.take('k').allowed).toBe(false);
  });

  it('keeps at most maxKeys buckets', () => {
    const limiter = new TokenBucketLimiter({
      capacity: 1,
      refill: 1,
      perMs: 1000,
      maxKeys: 10,
      now: () => 0,
    });
    for (let i = 0; i < 100; i += 1) limiter.take(`k${i}`);
    expect(limiter.size).toBe(10);
  });
});

describe('ndjsonLines', () => {
  async function collect(chunks: Buffer[], max = 1000) {
    const out = [];
    for await (const line of ndjsonLines(Readable.from(chunks), max)) out.push(line);
    return out;
  }

  it('yields the same lines however the bytes are split, multi-byte characters included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\n')),
          { maxLength: 20 },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (lines, cuts) => {
          const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let last = 0;
          for (const point of [...points, bytes.length]) {
            chunks.push(bytes.subarray(last, point));
            last = point;
          }
          const got = await collect(chunks);
          expect(got.map((l) => (l.kind === 'line' ? l.text : null))).toEqual(lines);
          expect(got.map((l) => l.number)).toEqual(lines.map((_, i) => i + 1));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reports lines over the limit without holding them, and a last line without a newline', async () => {
    const got = await collect(
      [Buffer.from('ok\n'), Buffer.from('x'.repeat(30)), Buffer.from('y'.repeat(30)), Buffer.from('\nlast')],
      40,
    );
    expect(got).toEqual([
      { kind: 'line', number: 1, text: 'ok' },
      { kind: 'too-long', number: 2 },
      { kind: 'line', number: 3, text: 'last' },
    ]);
  });
});

describe('log scrubbing', () => {
  it('masks tokens and removes keys, JWTs and PEM blocks', () => {
    const token = 'ab'.repeat(32);
    expect(maskUrl(`/v1/apps/app_1/devices/${token}`)).toBe('/v1/apps/app_1/devices/abab…abab');
    const text = scrubSecrets(
      'key pk_server_AbC-12_x and pk_pub_q jwt eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.sig pem -----BEGIN PRIVATE KEY-----\nMIG\n-----END PRIVATE KEY----- end',
    );
    expect(text).not.toMatch(/pk_server_|pk_pub_|eyJ|BEGIN/);
    expect(text).toContain('end');
  });
});

describe('API keys', () => {
  it('generates 256-bit keys with prefixes and compares hashes in constant time', () => {
    const a = generateApiKey('server');
    const b = generateApiKey('publishable');
    expect(a.secret).toMatch(/^pk_server_[A-Za-z0-9_-]{43}$/);
    expect(b.secret).toMatch(/^pk_pub_[A-Za-z0-9_-]{43}$/);
    expect(a.sha256).toBe(hashApiKey(a.secret));
    expect(a.displayPrefix).toBe(a.secret.slice(0, 14));
    expect(sha256HexEqual(a.sha256, hashApiKey(a.secret))).toBe(true);
    expect(sha256HexEqual(a.sha256, b.sha256)).toBe(false);
    expect(sha256HexEqual(a.sha256, 'zz')).toBe(false);
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });
});

describe('KeyCache', () => {
  const key: ApiKey = {
    id: 'key_1',
    appId: 'app_1',
    scope: 'server',
    prefix: 'pk_server_abcd',
    createdAt: new Date(0),
    lastUsedAt: null,
    revokedAt: null,
  };

  it('shares one lookup between concurrent requests and looks again after ttlMs or a clear', async () => {
    let now = 0;
    const looked: string[] = [];
    const cache = new KeyCache({
      lookup: async (sha256) => {
        looked.push(sha256);
        return sha256 === 'a' ? key : null;
      },
      nowMs: () => now,
      ttlMs: 1000,
    });
    expect(await Promise.all([cache.find('a'), cache.find('a'), cache.find('b')])).toEqual([key, key, null]);
    expect(looked).toEqual(['a', 'b']);
    now += 999;
    await cache.find('a');
    await cache.find('b');
    expect(looked).toEqual(['a', 'b']);
    now += 1;
    await cache.find('a');
    expect(looked).toEqual(['a', 'b', 'a']);
    cache.clear();
    await cache.find('a');
    expect(looked).toEqual(['a', 'b', 'a', 'a']);
  });

  it('keeps no failed lookup, and at most maxEntries hashes', async () => {
    let fail = true;
    let lookups = 0;
    const cache = new KeyCache({
      lookup: async () => {
        lookups += 1;
        if (fail) throw new Error('store unavailable');
        return key;
      },
      nowMs: () => 0,
      maxEntries: 2,
    });
    await expect(cache.find('a')).rejects.toThrow('store unavailable');
    fail = false;
    expect(await cache.find('a')).toEqual(key);
    await cache.find('b');
    await cache.find('c');
    expect(lookups).toBe(4);
    await cache.find('a'); // dropped as the oldest when 'c' came in
    expect(lookups).toBe(5);
  });
});
