/**
 * What may reach a log line (docs/security.md): device tokens are masked to
 * their first and last four digits, API keys, JWTs and PEM blocks are cut out entirely.
 */
import { maskDeviceToken } from '../domain/index.ts';

// Device tokens are 64+ hex digits; 32 is low enough to also catch SHA-256 digests and partial tokens.
const HEX_RUN = /[0-9a-fA-F]{32,}/g;
const API_KEY = /\bpk_(?:server|pub|admin)_[A-Za-z0-9_-]+/g;
const JWT = /\beyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}/g;
const PEM = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g;

export function scrubSecrets(text: string): string {
  // Each pattern starts with a fixed string; looking for it first spares three regex passes over
  // almost every line (this runs for every request's URL).
  let scrubbed = text;
  if (scrubbed.includes('-----BEGIN ')) scrubbed = scrubbed.replace(PEM, '[pem redacted]');
  if (scrubbed.includes('eyJ')) scrubbed = scrubbed.replace(JWT, '[jwt redacted]');
  if (scrubbed.includes('pk_')) scrubbed = scrubbed.replace(API_KEY, '[api key redacted]');
  return scrubbed.replace(HEX_RUN, (hex) => maskDeviceToken(hex));
}

/** A request URL for the log: tokens in the path masked (`/devices/ab12…9f0e`), secrets cut. */
export function maskUrl(url: string): string {
  return scrubSecrets(url);
}
