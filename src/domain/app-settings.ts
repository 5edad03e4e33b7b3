/**
 * Rules for an app's provider settings, checked when they are saved so a typo is a 400 at setup
 * time, never a push that fails later: endpoint URLs are `https://host[:port]` (an origin, RFC 6454
 * §4: no path, query, fragment or user info), CA bundles are PEM certificates that parse (RFC 7468
 * §5), an APNs signing key is an EC P-256 private key (Apple: the `.p8` key signs ES256 provider
 * tokens, RFC 7518 §3.4). Parsing with node:crypto is computation, not I/O.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { fail, ok, problem, type Result } from './result.ts';

/** `https://host[:port]` → the origin as given (host lower-cased by URL parsing). */
export function checkEndpointUrl(value: string, field: string): Result<string> {
  const bad = (why: string) =>
    fail(
      problem(
        'PK_ERR_ENDPOINT_INVALID',
        `${field} must be https://host or https://host:port (${why}); got ${JSON.stringify(value.slice(0, 200))}.`,
        field,
      ),
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return bad('not a URL');
  }
  if (url.protocol !== 'https:') return bad('APNs is only spoken over TLS: use https');
  if (url.hostname === '') return bad('no host');
  if (url.username !== '' || url.password !== '') return bad('no user info');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    return bad('an origin has no path, query or fragment');
  }
  // `new URL('https://')` throws, but 'https://:443' and friends must not slip through either.
  if (!/^https:\/\/[^/?#:@]+(:\d{1,5})?\/?$/i.test(value) && !/^https:\/\/\[[0-9a-f:.]+\](:\d{1,5})?\/?$/i.test(value)) {
    return bad('not host[:port]');
  }
  return ok(url.origin);
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A CA bundle: one or more PEM certificates, each of which parses. */
export function checkCaPem(pem: string, field: string): Result<string> {
  const bad = (why: string) =>
    fail(problem('PK_ERR_CA_INVALID', `${field} must be one or more PEM certificates (${why}).`, field));
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) return bad('no -----BEGIN CERTIFICATE----- block');
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return bad(`certificate ${index + 1} does not parse`);
    }
  }
  return ok(pem);
}

/** Apple's `.p8`: a PKCS#8 EC private key on P-256, for ES256. */
export function checkSigningKeyPem(pem: string): Result<void> {
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(pem);
  } catch {
    return fail(
      problem(
        'PK_ERR_CREDENTIALS_INVALID',
        'The .p8 key cannot be read as a PEM private key: give the whole .p8 file as Apple issued it.',
        'unreadable-p8',
      ),
    );
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || (curve !== 'prime256v1' && curve !== 'P-256')) {
    return fail(
      problem(
        'PK_ERR_CREDENTIALS_INVALID',
        'An APNs signing key is an EC P-256 key (ES256), as Apple issues it in the .p8 file.',
        'not-p256',
      ),
    );
  }
  return ok(undefined);
}
