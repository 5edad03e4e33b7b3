/**
 * A Google service account key file (the JSON downloaded from the Firebase console, "Project
 * settings → Service accounts") and the RS256-signed JWT assertion of the OAuth 2.0 JWT bearer
 * grant (RFC 7523; Google, "Using OAuth 2.0 for Server to Server Applications"). node:crypto only.
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { fail, ok, problem, type Result } from '../../../domain/index.ts';

export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
/** The narrowest scope that allows `messages:send` (FCM discovery document). */
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/** Google refuses assertions living longer than one hour. */
const ASSERTION_LIFETIME_S = 3600;
/** `iat` a little in the past: a host clock running ahead would otherwise be refused. */
const CLOCK_SKEW_S = 30;

export interface ServiceAccount {
  readonly projectId: string;
  readonly clientEmail: string;
  readonly privateKey: KeyObject;
  /** `private_key_id`: sent as `kid` so Google (and the mock) pick the right public key. */
  readonly privateKeyId: string | undefined;
  readonly tokenUri: string;
}

function invalid(reason: string, message: string) {
  return fail(problem('PK_ERR_FCM_SERVICE_ACCOUNT_INVALID', message, reason));
}

/** Reads the key file's JSON (text or parsed). The private key is checked to be RSA. */
export function parseServiceAccount(
  input: string | Readonly<Record<string, unknown>>,
): Result<ServiceAccount> {
  let json: Record<string, unknown>;
  if (typeof input === 'string') {
    try {
      const parsed: unknown = JSON.parse(input);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        return invalid('not-object', 'A service account file is a JSON object.');
      json = parsed as Record<string, unknown>;
    } catch {
      return invalid('not-json', 'The service account file is not JSON.');
    }
  } else {
    json = input as Record<string, unknown>;
  }
  if (json['type'] !== 'service_account') {
    return invalid('wrong-type', 'The file is not a service account key ("type": "service_account").');
  }
  const projectId = json['project_id'];
  const clientEmail = json['client_email'];
  const privateKeyPem = json['private_key'];
  const privateKeyId = json['private_key_id'];
  const tokenUri = json['token_uri'] ?? GOOGLE_TOKEN_URI;
  if (typeof projectId !== 'string' || !/^[a-z0-9][a-z0-9:.-]{0,99}$/.test(projectId))
    return invalid('project-id', '"project_id" is missing or not a project id.');
  if (typeof clientEmail !== 'string' || !clientEmail.includes('@'))
    return invalid('client-email', '"client_email" is missing or not an e-mail address.');
  if (typeof privateKeyPem !== 'string') return invalid('private-key', '"private_key" is missing.');
  if (privateKeyId !== undefined && typeof privateKeyId !== 'string')
    return invalid('private-key-id', '"private_key_id" must be a string.');
  if (typeof tokenUri !== 'string' || !tokenUri.startsWith('https://'))
    return invalid('token-uri', '"token_uri" must be an https URL.');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch {
    return invalid('private-key', '"private_key" is not a PEM private key.');
  }
  if (privateKey.asymmetricKeyType !== 'rsa')
    return invalid('private-key', '"private_key" must be an RSA key (RS256).');
  return ok({ projectId, clientEmail, privateKey, privateKeyId, tokenUri });
}

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/**
 * The assertion Google's own library signs: `{"alg":"RS256"}` (plus `kid`), claims iss, scope, aud
 * (the token endpoint), iat, exp = iat + 1 h. No `sub`: that would ask for domain-wide delegation.
 */
export function signAssertion(
  account: ServiceAccount,
  options: { readonly audience: string; readonly scope: string; readonly nowMs: number },
): string {
  const iat = Math.floor(options.nowMs / 1000) - CLOCK_SKEW_S;
  const header =
    account.privateKeyId === undefined
      ? { alg: 'RS256', typ: 'JWT' }
      : { alg: 'RS256', typ: 'JWT', kid: account.privateKeyId };
  const claims = {
    iss: account.clientEmail,
    scope: options.scope,
    aud: options.audience,
    iat,
    exp: iat + ASSERTION_LIFETIME_S,
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(signingInput), account.privateKey);
  return `${signingInput}.${base64url(signature)}`;
}
