/**
 * What an APNs provider certificate says about its holder: the bundle id (subject `UID`), the
 * environments (extensions 1.2.840.113635.100.6.3.1 development / .3.2 production) and, for a
 * multi-topic certificate, the topic list (extension .3.6), as parse-community/node-apn reads them.
 *
 * The .3.6 value is a DER SEQUENCE alternating a UTF8String topic and a SEQUENCE of UTF8String
 * kinds ("app", "voip", "complication"), the shape seen in Apple-issued certificates.
 */
import type { Environment } from '../domain/index.ts';
import { children, oid, readNode, sequence, TAG, utf8 } from './der.ts';

export const APNS_CERT_OIDS = {
  development: '1.2.840.113635.100.6.3.1',
  production: '1.2.840.113635.100.6.3.2',
  topics: '1.2.840.113635.100.6.3.6',
} as const;

export const UID_OID = '0.9.2342.19200300.100.1.1';

/** A full `apns-topic`, e.g. `com.example.app` or `com.example.app.voip`. */
export type CertificateTopic = string;

export interface ProviderCertificate {
  readonly bundleId: string;
  /** Empty when the certificate carries no environment marker (then it is not checked). */
  readonly environments: readonly Environment[];
  /** Present only for multi-topic certificates. */
  readonly topics?: readonly string[];
}

function kindOf(topic: string): string {
  if (topic.endsWith('.voip')) return 'voip';
  if (topic.endsWith('.complication')) return 'complication';
  return 'app';
}

export function encodeTopicsExtension(topics: readonly CertificateTopic[]): Buffer {
  return sequence(...topics.flatMap((topic) => [utf8(topic), sequence(utf8(kindOf(topic)))]));
}

/** The top-level UTF8Strings of the .3.6 SEQUENCE; nested kind lists are skipped. */
export function decodeTopicsExtension(der: Buffer): string[] {
  const outer = readNode(der);
  if (outer.tag !== TAG.sequence) throw new RangeError('The topics extension is not a SEQUENCE');
  return children(outer)
    .filter((node) => node.tag === TAG.utf8String)
    .map((node) => node.value.toString('utf8'));
}

/** Reads a peer certificate (DER bytes, as from `tlsSocket.getPeerX509Certificate().raw`). */
export function readProviderCertificate(raw: Buffer): ProviderCertificate | undefined {
  try {
    const tbs = children(readNode(raw))[0]!;
    const fields = children(tbs);
    const first = fields[0]!.tag === 0xa0 ? 1 : 0; // [0] version is present in v3 certificates
    const subject = fields[first + 4]!;
    const uidOid = oid(UID_OID);
    let bundleId: string | undefined;
    for (const rdn of children(subject)) {
      for (const attribute of children(rdn)) {
        const [type, value] = children(attribute);
        if (type !== undefined && value !== undefined && type.raw.equals(uidOid))
          bundleId = value.value.toString('utf8');
      }
    }
    if (bundleId === undefined) return undefined;
    const extensions = new Map<string, Buffer>();
    const container = fields.find((field) => field.tag === 0xa3);
    if (container !== undefined) {
      for (const extension of children(children(container)[0]!)) {
        const parts = children(extension);
        const value = parts[parts.length - 1]!;
        extensions.set(parts[0]!.raw.toString('hex'), value.value);
      }
    }
    const has = (dotted: string) => extensions.get(oid(dotted).toString('hex'));
    const environments: Environment[] = [];
    if (has(APNS_CERT_OIDS.development) !== undefined) environments.push('sandbox');
    if (has(APNS_CERT_OIDS.production) !== undefined) environments.push('production');
    const topics = has(APNS_CERT_OIDS.topics);
    return topics === undefined
      ? { bundleId, environments }
      : { bundleId, environments, topics: decodeTopicsExtension(topics) };
  } catch {
    return undefined;
  }
}
