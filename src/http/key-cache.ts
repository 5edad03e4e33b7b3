/**
 * API key lookups reused for a moment (docs/security.md, "Revocation"). Reading the key row on
 * every request (a query through Kysely: ~25 µs on the 2-core development VM, SHA-256 of the key
 * ~1 µs) was most of authentication's cost; a lookup is now reused for at most `ttlMs` (1 s by
 * default), which bounds how stale an answer can be:
 *
 * - a revocation or app deletion made through this process clears the cache at once, so it takes
 *   effect on the next request;
 * - one made through another process (several `serve --api-only` on one database) takes effect
 *   here within `ttlMs`.
 *
 * Unknown and revoked keys are remembered too (a flood of bad keys costs one read per key per
 * `ttlMs`), at most `maxEntries` of them, oldest dropped first. The in-flight read is what is
 * shared, so concurrent requests with one key cause one read; a failed read is not kept.
 */
import type { ApiKey } from '../store/contract.ts';

interface Entry {
  readonly expiresAtMs: number;
  readonly key: Promise<ApiKey | null>;
}

export interface KeyCacheOptions {
  readonly lookup: (sha256: string) => Promise<ApiKey | null>;
  readonly nowMs: () => number;
  readonly ttlMs?: number;
  readonly maxEntries?: number;
}

/** How long a lookup is reused: the longest a revocation made by another process goes unnoticed. */
export const KEY_CACHE_TTL_MS = 1_000;

export class KeyCache {
  readonly #lookup: (sha256: string) => Promise<ApiKey | null>;
  readonly #nowMs: () => number;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: KeyCacheOptions) {
    this.#lookup = options.lookup;
    this.#nowMs = options.nowMs;
    this.#ttlMs = options.ttlMs ?? KEY_CACHE_TTL_MS;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  /** The stored key with this hash (revoked ones included, as the store answers), or null. */
  find(sha256: string): Promise<ApiKey | null> {
    const nowMs = this.#nowMs();
    const cached = this.#entries.get(sha256);
    if (cached !== undefined && cached.expiresAtMs > nowMs) return cached.key;
    if (cached !== undefined) this.#entries.delete(sha256);
    const entry: Entry = { expiresAtMs: nowMs + this.#ttlMs, key: this.#lookup(sha256) };
    this.#entries.set(sha256, entry);
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    entry.key.catch(() => {
      if (this.#entries.get(sha256) === entry) this.#entries.delete(sha256);
    });
    return entry.key;
  }

  /**
   * Forget everything: after a revocation or an app deletion in this process. Revocations are rare,
   * so clearing all is simpler than tracking which hash belongs to which key, and it also drops reads
   * still in flight that may have seen the key before the change.
   */
  clear(): void {
    this.#entries.clear();
  }
}
