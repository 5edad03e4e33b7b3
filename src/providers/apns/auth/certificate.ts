/**
 * Certificate-based APNs authentication: the provider certificate (PEM pair or PKCS#12) presented
 * in the TLS handshake (Apple, "Establishing a certificate-based connection to APNs").
 *
 * Loading goes through `tls.createSecureContext`, so a wrong passphrase or a key that does not match
 * the certificate fails here, before any connection, rather than as a handshake error later.
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext, TLSSocket } from 'node:tls';
import {
  type Environment,
  fail,
  ok,
  PUSH_TYPE_RULES,
  problem,
  type PushType,
  type Result,
  topicFor,
} from '../../../domain/index.ts';
import { readExtensions, readStrings } from './certificate-extensions.ts';

export type CertificateInput =
  | { readonly certPem: string; readonly keyPem: string; readonly passphrase?: string | undefined }
  | { readonly pkcs12: Buffer; readonly passphrase?: string | undefined };

/** What http2.connect needs to present the certificate. */
export interface CertificateTlsOptions {
  readonly cert?: string;
  readonly key?: string;
  readonly pfx?: Buffer;
  readonly passphrase?: string;
}

export interface ClientCertificate {
  readonly tls: CertificateTlsOptions;
  /** The subject's UID: the app's bundle id. */
  readonly bundleId: string;
  /** From Apple's environment extensions; empty when the certificate carries neither. */
  readonly environments: readonly Environment[];
  /** From Apple's topics extension (1.2.840.113635.100.6.3.6); empty when absent. */
  readonly topics: readonly string[];
  readonly validTo: Date;
}

// Apple's push certificate extensions (the same OIDs as parse-community/node-apn's
// `lib/credentials/certificate/oids.js`).
const OID_DEVELOPMENT = '1.2.840.113635.100.6.3.1';
const OID_PRODUCTION = '1.2.840.113635.100.6.3.2';
const OID_TOPICS = '1.2.840.113635.100.6.3.6';

function invalid(message: string, reason: string, details?: Record<string, unknown>) {
  return fail(problem('PK_ERR_CREDENTIALS_INVALID', message, reason, details));
}

function certificateDer(input: CertificateInput): Result<{ der: Buffer; tls: CertificateTlsOptions }> {
  const passphrase = input.passphrase === undefined ? {} : { passphrase: input.passphrase };
  const tls: CertificateTlsOptions =
    'pkcs12' in input ? { pfx: input.pkcs12, ...passphrase } : { cert: input.certPem, key: input.keyPem, ...passphrase };
  let socket: TLSSocket | undefined;
  try {
    const context = createSecureContext(tls);
    // The context is the only public way to open a PKCS#12 file; an unconnected TLSSocket over it
    // hands back the certificate it holds.
    socket = new TLSSocket(null as never, { secureContext: context });
    const local = socket.getCertificate();
    if (local === null || !('raw' in local) || !Buffer.isBuffer(local.raw)) {
      return invalid('The credentials hold no certificate.', 'no-certificate');
    }
    return ok({ der: local.raw, tls });
  } catch (cause) {
    return invalid('The certificate or its key cannot be loaded (wrong passphrase, or a key that does not match?).', 'unreadable', {
      cause: cause instanceof Error ? cause.message : String(cause),
    });
  } finally {
    socket?.destroy();
  }
}

export function loadClientCertificate(input: CertificateInput): Result<ClientCertificate> {
  const loaded = certificateDer(input);
  if (!loaded.ok) return loaded;
  const x509 = new X509Certificate(loaded.value.der);
  const uid = /(?:^|\n)UID=([^\n]+)/.exec(x509.subject)?.[1];
  if (uid === undefined) return invalid('An APNs certificate names its bundle id in the subject UID.', 'no-uid');
  let extensions: Map<string, Buffer>;
  try {
    extensions = readExtensions(loaded.value.der);
  } catch {
    return invalid('The certificate extensions cannot be read.', 'bad-der');
  }
  const environments: Environment[] = [];
  if (extensions.has(OID_PRODUCTION)) environments.push('production');
  if (extensions.has(OID_DEVELOPMENT)) environments.push('sandbox');
  const topicsValue = extensions.get(OID_TOPICS);
  let topics: string[] = [];
  if (topicsValue !== undefined) {
    try {
      // The value is a SEQUENCE of topic strings, each followed by a SEQUENCE naming its kind
      // ("app", "voip", "complication"); topics are the strings containing a dot.
      topics = readStrings(topicsValue).filter((value) => value.includes('.'));
    } catch {
      topics = [];
    }
  }
  return ok({ tls: loaded.value.tls, bundleId: uid, environments, topics, validTo: new Date(x509.validTo) });
}

/**
 * Whether this certificate can send `pushType` for `bundleId` to `environment`. Certificate
 * connections support only some push types (Apple: location, live activities, widgets and controls
 * are token-only); a certificate covers one app and the topics its extension lists, or — without
 * that extension — the app itself, its VoIP and its complication topics (Apple: "one certificate
 * covers one app: its alerts, its Watch complication and its VoIP pushes").
 */
export function checkCertificatePush(
  certificate: ClientCertificate,
  push: { readonly bundleId: string; readonly pushType: PushType; readonly environment: Environment },
): Result<void> {
  if (!PUSH_TYPE_RULES[push.pushType].certificateAuth) {
    return fail(
      problem('PK_ERR_PUSH_TYPE_NEEDS_TOKEN_AUTH', `${push.pushType} pushes need token authentication.`, 'token-only', {
        pushType: push.pushType,
      }),
    );
  }
  if (certificate.environments.length > 0 && !certificate.environments.includes(push.environment)) {
    return invalid(`The certificate is not valid for ${push.environment}.`, 'environment', {
      environments: certificate.environments,
    });
  }
  const topic = topicFor(push.bundleId, push.pushType);
  const allowed =
    certificate.topics.length > 0
      ? certificate.topics
      : [certificate.bundleId, `${certificate.bundleId}.voip`, `${certificate.bundleId}.complication`];
  if (!allowed.includes(topic)) {
    return fail(
      problem('PK_ERR_TOPIC_INVALID', `The certificate does not cover the topic ${topic}.`, 'topic-not-in-certificate', {
        topic,
      }),
    );
  }
  return ok(undefined);
}
