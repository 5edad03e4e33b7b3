/**
 * VAPID (RFC 8292): the application server identifies itself to push services with its own P-256
 * key. Per push-service origin it signs an ES256 JWT `{"typ":"JWT","alg":"ES256"}.{aud, exp, sub}`
 * (§2) and sends `Authorization: vapid t=<jwt>, k=<public key>` (§3).
 *
 * Tokens are cached per origin and renewed before they expire: RFC 8292 §5 asks senders to reuse a
 * token so services can cache its verification, Apple asks not to refresh it more than once an hour,
 * and signing per message (what the `web-push` library does) is the largest avoidable CPU cost.
 * `exp` is 12 hours ahead (services refuse more than 24 h, §2; 12 h leaves room for clock skew) and a
 * token is replaced once less than an hour of it remains.
 */
import { createECDH, type KeyObject, sign } from 'node:crypto';
import { decodeBase64url } from '../../domain/index.ts';
import { PushkeeperError } from '../../errors.ts';
import { p256PrivateKey, p256PublicKey } from './p256.ts';

export interface VapidKeys {
  /** base64url of the 65-octet uncompressed public point: the browser's `applicationServerKey`. */
  readonly publicKey: string;
  /** base64url of the 32-octet private scalar. */
  readonly privateKey: string;
}

export interface VapidCredentials extends VapidKeys {
  /** A `mailto:` or `https:` contact the push service can reach (RFC 8292 §2.1). */
  readonly subject: string;
}

export interface VapidClock {
  now(): number;
}

const HOUR_MS = 3_600_000;
/** Lifetime given to a token: half the 24 h services allow. */
export const VAPID_TOKEN_LIFETIME_MS = 12 * HOUR_MS;
/** A cached token is replaced once this little of it remains. */
export const VAPID_RENEW_BEFORE_MS = HOUR_MS;
/** RFC 8292 §2: exp no more than 24 hours after the request. */
export const VAPID_MAX_LIFETIME_MS = 24 * HOUR_MS;
/** One cached token per origin; beyond this many origins the oldest are dropped. */
const MAX_CACHED_ORIGINS = 256;
const JWT_HEADER = Buffer.from('{"typ":"JWT","alg":"ES256"}').toString('base64url');

/** A new VAPID key pair, in the base64url forms browsers and libraries use. */
export function generateVapidKeys(): VapidKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    publicKey: ecdh.getPublicKey().toString('base64url'),
    privateKey: ecdh.getPrivateKey().toString('base64url'),
  };
}

function invalid(message: string, reason: string): PushkeeperError {
  return new PushkeeperError('PK_ERR_WEBPUSH_VAPID_INVALID', message, { reason });
}

/**
 * `mailto:` or `https:`, no spaces or angle brackets (Apple refuses `mailto: <a@b>`), and not a
 * localhost contact (Apple answers 403 BadJwtToken for `mailto:…@localhost` and `https://localhost`).
 */
export function checkVapidSubject(subject: string): void {
  if (/[\s<>]/.test(subject))
    throw invalid('The VAPID subject must not contain spaces or angle brackets.', 'subject-format');
  if (subject.startsWith('mailto:')) {
    const at = subject.lastIndexOf('@');
    const domain = at < 0 ? '' : subject.slice(at + 1).toLowerCase();
    if (at <= 'mailto:'.length || domain === '' || domain === 'localhost') {
      throw invalid(
        'The VAPID subject must be a reachable mailto: address (not @localhost).',
        'subject-mailto',
      );
    }
    return;
  }
  if (subject.startsWith('https://')) {
    let host: string;
    try {
      host = new URL(subject).hostname;
    } catch {
      throw invalid('The VAPID subject is not a valid https: URL.', 'subject-url');
    }
    if (host === 'localhost' || host === '127.0.0.1' || host === '[::1]') {
      throw invalid('The VAPID subject must not be a localhost URL.', 'subject-localhost');
    }
    return;
  }
  throw invalid('The VAPID subject must be a mailto: address or an https: URL.', 'subject-scheme');
}

interface CachedToken {
  readonly header: string;
  readonly renewAt: number;
}

/** Signs and caches VAPID tokens for one key pair and subject. */
export class VapidSigner {
  readonly publicKey: string;
  readonly subject: string;
  readonly #key: KeyObject;
  readonly #clock: VapidClock;
  readonly #lifetimeMs: number;
  readonly #cache = new Map<string, CachedToken>();
  #signed = 0;

  constructor(credentials: VapidCredentials, options: { clock?: VapidClock; lifetimeMs?: number } = {}) {
    checkVapidSubject(credentials.subject);
    const pub = decodeBase64url(credentials.publicKey);
    const priv = decodeBase64url(credentials.privateKey);
    if (pub === undefined || pub.bytes.length !== 65 || p256PublicKey(pub.bytes) === undefined) {
      throw invalid(
        'The VAPID public key must be base64url of a 65-byte uncompressed P-256 point.',
        'public-key',
      );
    }
    if (priv === undefined || priv.bytes.length !== 32) {
      throw invalid('The VAPID private key must be base64url of 32 bytes.', 'private-key');
    }
    // A JWK import does not check that d and (x, y) belong together: derive the point from d.
    let derived: Buffer | undefined;
    try {
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(priv.bytes);
      derived = ecdh.getPublicKey();
    } catch {
      derived = undefined;
    }
    if (derived === undefined || !derived.equals(pub.bytes)) {
      throw invalid('The VAPID private key does not belong to the public key.', 'key-mismatch');
    }
    this.#key = p256PrivateKey(priv.bytes, pub.bytes);
    this.publicKey = pub.canonical;
    this.subject = credentials.subject;
    this.#clock = options.clock ?? { now: () => Date.now() };
    const lifetime = options.lifetimeMs ?? VAPID_TOKEN_LIFETIME_MS;
    this.#lifetimeMs = Math.min(Math.max(lifetime, 2 * VAPID_RENEW_BEFORE_MS), VAPID_MAX_LIFETIME_MS);
  }

  /** How many tokens were signed (the rest were served from the cache). */
  get tokensSigned(): number {
    return this.#signed;
  }

  /** `vapid t=<jwt>, k=<public key>` for an origin (`https://host[:port]`, the JWT's `aud`). */
  authorization(origin: string): string {
    const now = this.#clock.now();
    const cached = this.#cache.get(origin);
    if (cached !== undefined && now < cached.renewAt) return cached.header;
    const exp = Math.floor((now + this.#lifetimeMs) / 1000);
    const header = `vapid t=${this.token(origin, exp)}, k=${this.publicKey}`;
    if (cached === undefined && this.#cache.size >= MAX_CACHED_ORIGINS) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.delete(origin);
    this.#cache.set(origin, { header, renewAt: exp * 1000 - VAPID_RENEW_BEFORE_MS });
    return header;
  }

  /** A freshly signed JWT (not cached). ES256 over the JWS signing input, as raw R ‖ S (RFC 7518 §3.4). */
  token(audience: string, exp: number): string {
    const claims = Buffer.from(JSON.stringify({ aud: audience, exp, sub: this.subject })).toString(
      'base64url',
    );
    const input = `${JWT_HEADER}.${claims}`;
    const signature = sign('sha256', Buffer.from(input), { key: this.#key, dsaEncoding: 'ieee-p1363' });
    this.#signed += 1;
    return `${input}.${signature.toString('base64url')}`;
  }
}
