/**
 * APNs credentials are checked when they are given (POST/PATCH /v1/apps), so a typo in a .p8 file
 * is a 400 at setup time rather than a failed push later. Only that they load is checked here;
 * whether Apple accepts them shows on the first send (credentials health).
 */
import { createPrivateKey } from 'node:crypto';
import { loadClientCertificate } from '../providers/apns/auth/certificate.ts';
import { fail, ok, problem, type Result } from '../domain/index.ts';
import type { ApnsCredentials } from '../store/contract.ts';

export function checkCredentials(credentials: ApnsCredentials): Result<void> {
  if (credentials.auth === 'token') {
    // Apple: the .p8 file holds an ES256 key (a PKCS#8 EC private key on P-256).
    try {
      const key = createPrivateKey(credentials.privateKey);
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (key.asymmetricKeyType !== 'ec' || (curve !== 'prime256v1' && curve !== 'P-256')) {
        return fail(
          problem(
            'PK_ERR_CREDENTIALS_INVALID',
            'An APNs signing key is an EC P-256 key (ES256).',
            'not-p256',
          ),
        );
      }
    } catch {
      return fail(
        problem(
          'PK_ERR_CREDENTIALS_INVALID',
          'The .p8 key cannot be read as a PEM private key.',
          'unreadable-p8',
        ),
      );
    }
    return ok(undefined);
  }
  const loaded =
    'p12Base64' in credentials
      ? loadClientCertificate({
          pkcs12: Buffer.from(credentials.p12Base64, 'base64'),
          passphrase: credentials.passphrase,
        })
      : loadClientCertificate({
          certPem: credentials.certPem,
          keyPem: credentials.keyPem,
          passphrase: credentials.passphrase,
        });
  return loaded.ok ? ok(undefined) : fail(loaded.error);
}
