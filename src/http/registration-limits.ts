/**
 * Limits on registrations through publishable keys (docs/security.md, "Limits and abuse"). The key
 * is public, so anyone can call with it: each registration costs a row now and APNs requests and
 * webhook calls later. Three buckets bound it — per device token (one device re-registering in a
 * loop), per client address within an app (one machine inventing tokens) and per app (many
 * machines doing it together). Server keys are the backend and are not limited here.
 */
import { TokenBucketLimiter } from './rate-limit.ts';

export type RegistrationLimitScope = 'token' | 'address' | 'app';

export interface RegistrationLimitSettings {
  readonly perTokenPerHour: number;
  readonly perAddressPerHour: number;
  readonly perAppPerMinute: number;
}

export type RegistrationLimitDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly scope: RegistrationLimitScope; readonly retryAfterSeconds: number };

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const ALLOWED: RegistrationLimitDecision = Object.freeze({ allowed: true });

export class RegistrationLimits {
  readonly #perToken: TokenBucketLimiter;
  readonly #perAddress: TokenBucketLimiter;
  readonly #perApp: TokenBucketLimiter;

  constructor(settings: RegistrationLimitSettings, now?: () => number) {
    const bucket = (capacity: number, perMs: number) =>
      new TokenBucketLimiter({ capacity, refill: capacity, perMs, ...(now ? { now } : {}) });
    this.#perToken = bucket(settings.perTokenPerHour, HOUR_MS);
    this.#perAddress = bucket(settings.perAddressPerHour, HOUR_MS);
    this.#perApp = bucket(settings.perAppPerMinute, MINUTE_MS);
  }

  /**
   * Takes one registration from each bucket, narrowest first: a device refused for looping does not
   * spend its address's or its app's allowance.
   */
  take(appId: string, clientAddress: string, token: string): RegistrationLimitDecision {
    const checks: [RegistrationLimitScope, TokenBucketLimiter, string][] = [
      ['token', this.#perToken, `${appId}\u0000${token}`],
      ['address', this.#perAddress, `${appId}\u0000${clientAddress}`],
      ['app', this.#perApp, appId],
    ];
    for (const [scope, limiter, key] of checks) {
      const decision = limiter.take(key);
      if (!decision.allowed) return { allowed: false, scope, retryAfterSeconds: decision.retryAfterSeconds };
    }
    return ALLOWED;
  }
}
