/** What every route plugin receives from buildApp: the deps and the shared per-process limiters. */
import type { HttpDeps } from './deps.ts';
import type { KeyCache } from './key-cache.ts';
import type { DeviceService } from '../service/devices.ts';
import type { TokenBucketLimiter } from './rate-limit.ts';
import type { RegistrationLimits } from './registration-limits.ts';

export interface RouteContext {
  readonly deps: HttpDeps;
  readonly now: () => Date;
  /** Pushes to `all`, per app (config.broadcastRateLimit per hour). */
  readonly broadcastLimiter: TokenBucketLimiter;
  /** Registrations through publishable keys: per token, per client address, per app. */
  readonly registrationLimits: RegistrationLimits;
  /** The device registry's rules (who may bind what); the device routes call it, not the store. */
  readonly devices: DeviceService;
  /** Authentication's key lookups: cleared after a revocation or an app deletion (key-cache.ts). */
  readonly keyCache: KeyCache;
}

export interface RoutePluginOptions {
  readonly context: RouteContext;
}
