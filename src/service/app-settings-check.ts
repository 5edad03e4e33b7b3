/**
 * Every provider setting of an app checked before it is saved (domain/app-settings.ts has the
 * rules): the key or certificate loads and matches, endpoints are origins, CA bundles parse. A
 * failure is a 400 with a stable code naming the field; nothing is written.
 */
import { checkCaPem, checkEndpointUrl, checkSigningKeyPem, fail, ok, problem, type Result } from '../domain/index.ts';
import { loadClientCertificate } from '../providers/apns/index.ts';
import type { ApnsCredentials, AppEndpoints, AppFeedbackSettings } from '../store/contract.ts';

export interface SettingsToCheck {
  readonly credentials?: ApnsCredentials | undefined;
  readonly endpoints?: AppEndpoints | null | undefined;
  readonly feedback?: AppFeedbackSettings | null | undefined;
}

const TEXT = (value: unknown): value is string => typeof value === 'string' && value.trim().length > 0;

export function checkCredentials(credentials: ApnsCredentials): Result<void> {
  if (credentials.auth === 'token') {
    if (!TEXT(credentials.teamId) || !TEXT(credentials.keyId)) {
      return fail(problem('PK_ERR_CREDENTIALS_INVALID', 'Token credentials need the team id and the key id.', 'token-ids'));
    }
    return checkSigningKeyPem(credentials.privateKey);
  }
  // Both the certificate and its key must load, and the key must be the certificate's: the loader
  // builds a TLS context from the pair, which OpenSSL refuses when the key does not match.
  const loaded =
    'p12Base64' in credentials
      ? loadClientCertificate({ pkcs12: Buffer.from(credentials.p12Base64, 'base64'), passphrase: credentials.passphrase })
      : loadClientCertificate({ certPem: credentials.certPem, keyPem: credentials.keyPem, passphrase: credentials.passphrase });
  return loaded.ok ? ok(undefined) : fail(loaded.error);
}

export function checkAppSettings(settings: SettingsToCheck): Result<void> {
  if (settings.credentials !== undefined) {
    const credentials = checkCredentials(settings.credentials);
    if (!credentials.ok) return credentials;
  }
  const endpoints = settings.endpoints;
  if (endpoints) {
    for (const field of ['production', 'sandbox'] as const) {
      const url = endpoints[field];
      if (url === null) continue;
      const checked = checkEndpointUrl(url, `endpoints.${field}`);
      if (!checked.ok) return checked;
    }
    if (endpoints.caPem !== null) {
      const ca = checkCaPem(endpoints.caPem, 'endpoints.caPem');
      if (!ca.ok) return ca;
    }
  }
  if (settings.feedback?.caPem) {
    const ca = checkCaPem(settings.feedback.caPem, 'feedback.caPem');
    if (!ca.ok) return ca;
  }
  return ok(undefined);
}
