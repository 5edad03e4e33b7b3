/** What every route plugin receives from buildApp: the deps and the shared per-process limiters. */
import type { HttpDeps } from './deps.ts';
import type { KeyCache } from './key-cache.ts';
import type { TokenBucketLimiter } from './rate-limit.ts';

export interface RouteContext {
  readonly deps: HttpDeps;
  readonly now: () => Date;
  /** Pushes to `all`, per app (config.broadcastRateLimit per hour). */
  readonly broadcastLimiter: TokenBucketLimiter;
  /** Registrations through publishable keys, per (app, token) (config.publishableRegistrationsPerHour). */
  readonly publishableRegistrationLimiter: TokenBucketLimiter;
  /** Authentication's key lookups: cleared after a revocation or an app deletion (key-cache.ts). */
  readonly keyCache: KeyCache;
}

export interface RoutePluginOptions {
  readonly context: RouteContext;
}
