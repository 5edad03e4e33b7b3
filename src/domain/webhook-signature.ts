/**
 * The webhook signature (docs/webhooks.md): header `Pushkeeper-Signature: t=<unix seconds>,v1=<hex>`
 * where hex = HMAC-SHA256(secret, `${t}.${body}`). Signing the timestamp with the body lets the
 * receiver refuse an old delivery replayed later; comparing in constant time keeps the MAC from
 * leaking a byte at a time (RFC 2104 §5 on truncation aside, a MAC is only as good as its check).
 * Exported from the package root so receivers written in Node need not re-implement it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_SIGNATURE_HEADER = 'pushkeeper-signature';
/** How old (or how far ahead) a delivery's `t` may be, by default. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

function mac(secret: string, timestampSeconds: number, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest();
}

export function signWebhook(secret: string, body: string | Uint8Array, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${mac(secret, timestampSeconds, body).toString('hex')}`;
}

export interface VerifyWebhookOptions {
  /** The receiver's clock, epoch seconds; now by default. */
  readonly nowSeconds?: number;
  /** Refuse deliveries whose `t` is further than this from now (default 300 s). */
  readonly toleranceSeconds?: number;
}

/**
 * true when `header` (the `Pushkeeper-Signature` value) signs exactly `body` (the raw bytes
 * received, before any JSON parsing) under `secret`, within the time tolerance. Several `v1`
 * entries are allowed: any one matching is enough.
 */
export function verifyWebhookSignature(
  secret: string,
  body: string | Uint8Array,
  header: string | null | undefined,
  options: VerifyWebhookOptions = {},
): boolean {
  if (typeof header !== 'string' || header.length > 4096) return false;
  let t: number | null = null;
  const candidates: Buffer[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator < 0) return false;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't') {
      if (t !== null || !/^\d{1,12}$/.test(value)) return false;
      t = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/.test(value)) return false;
      candidates.push(Buffer.from(value, 'hex'));
    }
  }
  if (t === null || candidates.length === 0) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS)) return false;
  const expected = mac(secret, t, body);
  let matched = false;
  // Every candidate is compared, so the time taken does not say which one matched.
  for (const candidate of candidates) matched = timingSafeEqual(candidate, expected) || matched;
  return matched;
}
