/**
 * The apns-id of one notification to one device, derived rather than random: a resend after a
 * crash, a retry on the other environment or a retried batch carries the same id without storing
 * it first (a resent notification carries the same apns-id). APNs documents no de-duplication by
 * apns-id (Apple, "Sending notification requests to APNs", header table), but a stable id lets logs and Apple's console be correlated.
 */
import { hash } from 'node:crypto';

export function apnsIdFor(notificationId: string, token: string): string {
  // One-shot hash: computed for every device of a broadcast, and cheaper than a Hash object.
  const hex = hash('sha256', `${notificationId}\0${token}`, 'hex');
  // RFC 9562 layout: version 8 (custom) in the 13th digit, variant 10xx in the 17th.
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A job id (UUID) derived from what the job is for, so enqueueing it twice inserts it once. */
export function jobIdFor(...parts: readonly string[]): string {
  return apnsIdFor(parts.slice(0, -1).join('\0'), parts.at(-1) ?? '');
}
