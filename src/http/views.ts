/**
 * Store rows → API answers. Times become ISO strings, secrets never leave: an app answers whether
 * it has a CA, not the PEM; credentials and webhook secrets are not part of `App` at all.
 */
import { X509Certificate } from 'node:crypto';
import type { ApiKey, App, Device, Invalidation, Notification, Outcome } from '../store/contract.ts';
import type { ApiKeyView, AppView, DeviceView, NotificationView } from './schemas.ts';

const iso = (date: Date): string => date.toISOString();

/** A CA is public, but a PEM is long: its subject, fingerprint and expiry identify it. */
function caSummary(pem: string): { subject: string; sha256: string; validTo: string } | null {
  try {
    const certificate = new X509Certificate(pem);
    return { subject: certificate.subject.replaceAll('\n', ', '), sha256: certificate.fingerprint256, validTo: certificate.validTo };
  } catch {
    return null;
  }
}
const isoOrNull = (date: Date | null): string | null => (date === null ? null : date.toISOString());

export function appView(app: App): AppView {
  const apns = app.apnsHealth;
  return {
    id: app.id,
    name: app.name,
    topic: app.topic,
    authKind: app.authKind,
    endpoints:
      app.endpoints === null
        ? null
        : {
            production: app.endpoints.production,
            sandbox: app.endpoints.sandbox,
            hasCa: app.endpoints.caPem !== null,
            ca: app.endpoints.caPem === null ? null : caSummary(app.endpoints.caPem),
          },
    feedback:
      app.feedback === null
        ? null
        : {
            host: app.feedback.host,
            port: app.feedback.port,
            intervalHours: app.feedback.intervalHours,
            hasCa: app.feedback.caPem !== null,
          },
    webhookUrl: app.webhookUrl,
    // One key per provider, so FCM and Web Push can join without changing the shape.
    health: {
      apns:
        apns.status === 'healthy'
          ? { status: 'healthy', reason: null, since: null }
          : { status: apns.status, reason: apns.reason, since: iso(apns.since) },
    },
    createdAt: iso(app.createdAt),
    updatedAt: iso(app.updatedAt),
  };
}

export function apiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    appId: key.appId,
    scope: key.scope,
    prefix: key.prefix,
    createdAt: iso(key.createdAt),
    lastUsedAt: isoOrNull(key.lastUsedAt),
    revokedAt: isoOrNull(key.revokedAt),
  };
}

export function deviceView(device: Device): DeviceView {
  return {
    token: device.token,
    environment: device.environment,
    alias: device.alias,
    tags: [...device.tags],
    locale: device.locale,
    createdAt: iso(device.createdAt),
    lastRegisteredAt: iso(device.lastRegisteredAt),
    lastSuccessAt: isoOrNull(device.lastSuccessAt),
    invalidSince: isoOrNull(device.invalidSince),
  };
}

export function notificationView(notification: Notification): NotificationView {
  return {
    id: notification.id,
    status: notification.status,
    counts: { ...notification.counts },
    audience: notification.audience,
    options: notification.options,
    failureReason: notification.failureReason,
    createdAt: iso(notification.createdAt),
    startedAt: isoOrNull(notification.startedAt),
    completedAt: isoOrNull(notification.completedAt),
  };
}

export function outcomeView(outcome: Outcome) {
  return {
    token: outcome.token as string,
    outcome: outcome.outcome,
    reason: outcome.reason,
    apnsId: outcome.apnsId,
    at: iso(outcome.at),
  };
}

export function invalidationView(invalidation: Invalidation) {
  return {
    token: invalidation.token as string,
    reason: invalidation.reason,
    apnsTimestamp: iso(invalidation.apnsTimestamp),
    removedAt: iso(invalidation.removedAt),
    source: invalidation.source,
  };
}
