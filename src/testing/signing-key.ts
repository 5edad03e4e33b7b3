/**
 * ES256 provider keys like the `.p8` files from Apple's developer account (a P-256 key in PKCS#8
 * PEM), plus a token signer for tests that need to hand-craft JWTs (raw or DER signatures).
 * The mock only ever needs the public half; the private half is for the client under test.
 */
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';

export interface TestSigningKey {
  readonly teamId: string;
  readonly keyId: string;
  /** PKCS#8 PEM, the `.p8` format. */
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

export function generateSigningKey(options: { teamId: string; keyId: string }): TestSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    teamId: options.teamId,
    keyId: options.keyId,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

export interface ProviderTokenOptions {
  /** Seconds since the epoch. */
  readonly iat: number;
  /** JWS wants raw R||S (64 bytes); APNs also accepts DER (observed; pushy's verifier expects DER). Default raw. */
  readonly signatureEncoding?: 'raw' | 'der';
  /** Overrides for negative tests. */
  readonly header?: Record<string, unknown>;
  readonly claims?: Record<string, unknown>;
}

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** A provider token `header.claims.signature`, for tests; real clients sign their own. */
export function signProviderToken(key: TestSigningKey, options: ProviderTokenOptions): string {
  const header = base64url(JSON.stringify(options.header ?? { alg: 'ES256', kid: key.keyId }));
  const claims = base64url(JSON.stringify(options.claims ?? { iss: key.teamId, iat: options.iat }));
  const signingInput = `${header}.${claims}`;
  const signature = sign('sha256', Buffer.from(signingInput), {
    key: createPrivateKey(key.privateKeyPem),
    dsaEncoding: options.signatureEncoding === 'der' ? 'der' : 'ieee-p1363',
  });
  return `${signingInput}.${base64url(signature)}`;
}
