/**
 * Who is calling and what they may do (docs/security.md).
 *
 * - The admin key (the resolved admin token, or a stored admin-scope key) manages apps and may act
 *   on any app's resources.
 * - A `server` key reaches everything of its own app.
 * - A `publishable` key may only register/refresh a device (PUT …/devices/:token).
 * - The app comes from the key: a key of app A on a path of app B answers 404 PK_ERR_APP_NOT_FOUND,
 *   the same answer as for an app that does not exist, so keys cannot probe for other apps.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../errors.ts';
import type { ApiKeyScope, Store } from '../store/contract.ts';
import { hashApiKey, presentedKey, sha256HexEqual } from './api-keys.ts';
import type { KeyCache } from './key-cache.ts';
import { sendError } from './problem-reply.ts';
import type { TokenBucketLimiter } from './rate-limit.ts';

/** What a route allows; set as route `config.access`. */
export type Access = 'public' | 'admin' | 'server' | 'publishable';

export type Principal =
  | { readonly kind: 'admin'; readonly keyId: string | null }
  | {
      readonly kind: 'app';
      readonly keyId: string;
      readonly appId: string;
      readonly scope: Exclude<ApiKeyScope, 'admin'>;
    };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface AccessControlOptions {
  readonly store: Store;
  /** Key lookups by hash, reused for a bounded time (key-cache.ts). */
  readonly keys: KeyCache;
  readonly adminTokenSha256: string;
  readonly perKeyLimiter: TokenBucketLimiter;
  readonly now: () => Date;
  readonly nowMs: () => number;
}

/**
 * last_used_at is tracked per minute: each process writes it at most once per key per minute (the
 * store's touch also skips the write when another process did it within the minute).
 */
const TOUCH_INTERVAL_MS = 60_000;

export function createAccessControl(options: AccessControlOptions) {
  const lastTouchedMs = new Map<string, number>();

  /** The caller, or the code that says why the key was not accepted. */
  async function authenticate(request: FastifyRequest): Promise<Principal | ErrorCode> {
    const presented = presentedKey(request.headers);
    if ('problem' in presented) return presented.problem;
    const { secret } = presented;
    if (secret.length > 512) return 'PK_ERR_UNAUTHENTICATED';
    const sha256 = hashApiKey(secret);
    if (sha256HexEqual(sha256, options.adminTokenSha256)) return { kind: 'admin', keyId: null };
    // The lookup is by the hash of a 256-bit secret: timing reveals nothing usable about the key.
    // Saying "revoked" tells the holder of that very key only what its owner did to it.
    const key = await options.keys.find(sha256);
    if (key === null) return 'PK_ERR_UNAUTHENTICATED';
    if (key.revokedAt !== null) return 'PK_ERR_API_KEY_REVOKED';
    touch(key.id);
    if (key.scope === 'admin' || key.appId === null) return { kind: 'admin', keyId: key.id };
    return { kind: 'app', keyId: key.id, appId: key.appId, scope: key.scope };
  }

  function touch(keyId: string): void {
    const nowMs = options.nowMs();
    const last = lastTouchedMs.get(keyId);
    if (last !== undefined && nowMs - last < TOUCH_INTERVAL_MS) return;
    lastTouchedMs.set(keyId, nowMs);
    if (lastTouchedMs.size > 10_000) lastTouchedMs.clear();
    // Bookkeeping must never fail a request; a lost update is retried a minute later.
    options.store.keys.touch(keyId, options.now()).catch(() => lastTouchedMs.delete(keyId));
  }

  /** The onRequest hook of the /v1 routes: authenticate, rate-limit, authorise. */
  return async function accessHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const access: Access = request.routeOptions.config.access ?? 'admin';
    if (access === 'public') return;
    const principal = await authenticate(request);
    if (typeof principal === 'string') {
      reply.header('www-authenticate', 'Bearer');
      return void sendError(reply, principal);
    }
    request.principal = principal;

    const limit = options.perKeyLimiter.take(principal.keyId ?? 'admin-token');
    if (!limit.allowed) {
      reply.header('retry-after', String(limit.retryAfterSeconds));
      return void sendError(reply, 'PK_ERR_RATE_LIMITED', undefined, {
        retryAfterSeconds: limit.retryAfterSeconds,
      });
    }

    const appParam = (request.params as { app?: unknown }).app;
    const pathApp = typeof appParam === 'string' ? appParam : null;
    if (principal.kind === 'admin') {
      if (pathApp !== null && (await options.store.apps.get(pathApp)) === null) {
        return void sendError(reply, 'PK_ERR_APP_NOT_FOUND');
      }
      return;
    }
    // An app key: its app must be the path's app, whatever the route.
    if (pathApp === null || pathApp !== principal.appId) {
      return void sendError(reply, pathApp === null ? 'PK_ERR_FORBIDDEN' : 'PK_ERR_APP_NOT_FOUND');
    }
    if (access === 'admin' || (access === 'server' && principal.scope !== 'server')) {
      return void sendError(reply, 'PK_ERR_FORBIDDEN');
    }
  };
}
