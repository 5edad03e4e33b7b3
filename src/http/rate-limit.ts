/**
 * A small in-memory token bucket per key: per API key, per app for broadcasts,
 * per device token for publishable registrations. Per process by design: with several API
 * processes each enforces its own share, which is what a limit against runaway clients needs.
 */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Whole seconds until one token is available again (0 when allowed). */
  readonly retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedAtMs: number;
}

export interface TokenBucketOptions {
  /** Burst size: the most requests allowed at once. */
  readonly capacity: number;
  /** Tokens added back over `perMs`. */
  readonly refill: number;
  readonly perMs: number;
  /** Buckets kept at most; the oldest idle ones are dropped first (bounded memory). */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

/** The common answer, shared: the limiter runs on every request and should not allocate for it. */
const ALLOWED: RateLimitDecision = Object.freeze({ allowed: true, retryAfterSeconds: 0 });

export class TokenBucketLimiter {
  readonly #capacity: number;
  readonly #ratePerMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  // A Map iterates in insertion order; re-inserting on use makes the first entry the least recent.
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: TokenBucketOptions) {
    this.#capacity = options.capacity;
    this.#ratePerMs = options.refill / options.perMs;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  take(key: string, cost = 1): RateLimitDecision {
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#capacity, updatedAtMs: now };
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.updatedAtMs) * this.#ratePerMs);
    bucket.updatedAtMs = now;
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next();
      if (!oldest.done) this.#buckets.delete(oldest.value);
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return ALLOWED;
    }
    const waitMs = (cost - bucket.tokens) / this.#ratePerMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  get size(): number {
    return this.#buckets.size;
  }
}
