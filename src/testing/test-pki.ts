/**
 * A throw-away PKI for tests: a CA, a server certificate for the loopback names, and APNs-shaped
 * provider (client) certificates. Generated in memory (P-256 keys, ECDSA-SHA256 signatures), never
 * downloaded or committed.
 *
 * Apple's provider certificates carry the bundle id as the subject's `UID` and mark their
 * environment with extensions 1.2.840.113635.100.6.3.1 (development) and .3.2 (production); a
 * multi-topic certificate lists its topics in extension .3.6.
 */
import { createHash, generateKeyPair, type KeyObject, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import type { Environment } from '../domain/index.ts';
import {
  APNS_CERT_OIDS,
  type CertificateTopic,
  encodeTopicsExtension,
  UID_OID,
} from './client-certificate.ts';
import {
  asnNull,
  bitString,
  boolean,
  children,
  explicit,
  integer,
  octets,
  oid,
  readNode,
  sequence,
  set,
  smallInteger,
  TAG,
  time,
  tlv,
  utf8,
} from './der.ts';

export interface TestPki {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  issueClientCertificate(options: ClientCertificateOptions): Promise<{ certPem: string; keyPem: string }>;
}

export interface ClientCertificateOptions {
  readonly bundleId: string;
  readonly environments: readonly Environment[];
  readonly commonName?: string;
  /**
   * Topics for extension .3.6, making it a multi-topic certificate. Omit for a single-topic
   * certificate (the topic defaults to the UID when `apns-topic` is absent).
   */
  readonly topics?: readonly CertificateTopic[];
  /** Self-signed instead of CA-signed: a certificate the server does not trust. */
  readonly selfSigned?: boolean;
}

const generateKeyPairAsync = promisify(generateKeyPair);
const DAY_MS = 86_400_000;
const OIDS = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  country: '2.5.4.6',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

type NameAttribute = readonly [oid: string, value: string];

function encodeName(attributes: readonly NameAttribute[]): Buffer {
  return sequence(
    ...attributes.map(([type, value]) =>
      set(
        sequence(
          oid(type),
          // RFC 5280: countryName is a PrintableString.
          type === OIDS.country ? tlv(TAG.printableString, Buffer.from(value, 'ascii')) : utf8(value),
        ),
      ),
    ),
  );
}

function extension(type: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(type), boolean(true), octets(value)) : sequence(oid(type), octets(value));
}

function subjectAltNames(names: readonly string[]): Buffer {
  return sequence(
    ...names.map((name) => {
      const family = isIP(name);
      if (family === 4) return tlv(0x87, Buffer.from(name.split('.').map(Number)));
      if (family === 6) return tlv(0x87, ipv6Bytes(name));
      return tlv(0x82, Buffer.from(name, 'ascii'));
    }),
  );
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = address.includes('::') ? [...headGroups, ...zeros, ...tailGroups] : headGroups;
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => {
    bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2);
  });
  return bytes;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
function keyIdentifier(spki: Buffer): Buffer {
  const bits = children(readNode(spki))[1]!;
  return createHash('sha1').update(bits.value.subarray(1)).digest();
}

interface Issuer {
  readonly name: Buffer;
  readonly key: KeyObject;
  readonly keyId: Buffer;
}

async function newKeys(): Promise<{ privateKey: KeyObject; publicKey: KeyObject; spki: Buffer }> {
  const { privateKey, publicKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

function certificate(o: { subject: Buffer; spki: Buffer; issuer: Issuer; extensions: Buffer[] }): string {
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const algorithm = sequence(oid(OIDS.ecdsaWithSha256));
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    integer(serial),
    algorithm,
    o.issuer.name,
    sequence(time(new Date(now - DAY_MS)), time(new Date(now + 365 * DAY_MS))),
    o.subject,
    o.spki,
    explicit(
      3,
      sequence(
        ...o.extensions,
        extension(OIDS.subjectKeyId, false, octets(keyIdentifier(o.spki))),
        extension(OIDS.authorityKeyId, false, sequence(tlv(0x80, o.issuer.keyId))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, { key: o.issuer.key, dsaEncoding: 'der' });
  return toPem(sequence(tbs, algorithm, bitString(signature)), 'CERTIFICATE');
}

function toPem(der: Buffer, label: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

const KEY_USAGE_DIGITAL_SIGNATURE = bitString(Buffer.from([0x80]), 7);
const KEY_USAGE_CERT_AND_CRL_SIGN = bitString(Buffer.from([0x06]), 1);

export interface TestPkiOptions {
  /** Extra DNS names or IP addresses for the server certificate's subjectAltName. */
  readonly serverNames?: readonly string[];
}

/** Names every mock server certificate covers: the loopback names and Apple's hosts. */
export const DEFAULT_SERVER_NAMES: readonly string[] = [
  'localhost',
  'api.push.apple.com',
  'api.sandbox.push.apple.com',
  'api.development.push.apple.com',
  '127.0.0.1',
  '::1',
];

export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const caKeys = await newKeys();
  const caName = encodeName([
    [OIDS.commonName, 'Pushkeeper Test CA'],
    [OIDS.organization, 'Pushkeeper Tests'],
  ]);
  const caIssuer: Issuer = { name: caName, key: caKeys.privateKey, keyId: keyIdentifier(caKeys.spki) };
  const caCertPem = certificate({
    subject: caName,
    spki: caKeys.spki,
    issuer: caIssuer,
    extensions: [
      extension(OIDS.basicConstraints, true, sequence(boolean(true), smallInteger(0))),
      extension(OIDS.keyUsage, true, KEY_USAGE_CERT_AND_CRL_SIGN),
    ],
  });

  const serverKeys = await newKeys();
  const serverCertPem = certificate({
    subject: encodeName([
      [OIDS.commonName, 'localhost'],
      [OIDS.organization, 'Pushkeeper Mock APNs'],
    ]),
    spki: serverKeys.spki,
    issuer: caIssuer,
    extensions: [
      extension(OIDS.basicConstraints, true, sequence()),
      extension(OIDS.keyUsage, true, KEY_USAGE_DIGITAL_SIGNATURE),
      extension(OIDS.extKeyUsage, false, sequence(oid(OIDS.serverAuth))),
      extension(
        OIDS.subjectAltName,
        false,
        subjectAltNames([...new Set([...DEFAULT_SERVER_NAMES, ...(options.serverNames ?? [])])]),
      ),
    ],
  });

  return {
    caCertPem,
    caKeyPem: privateKeyPem(caKeys.privateKey),
    serverCertPem,
    serverKeyPem: privateKeyPem(serverKeys.privateKey),
    async issueClientCertificate(options) {
      const keys = await newKeys();
      const env = options.environments;
      const bundleId = options.bundleId;
      const commonName =
        options.commonName ??
        (env.length === 2
          ? `Apple Push Services: ${bundleId}`
          : env[0] === 'production'
            ? `Apple Production IOS Push Services: ${bundleId}`
            : `Apple Development IOS Push Services: ${bundleId}`);
      const subject = encodeName([
        [UID_OID, bundleId],
        [OIDS.commonName, commonName],
        [OIDS.organizationalUnit, 'TESTTEAM01'],
        [OIDS.organization, 'Pushkeeper Tests'],
        [OIDS.country, 'US'],
      ]);
      const extensions = [
        extension(OIDS.basicConstraints, true, sequence()),
        extension(OIDS.keyUsage, true, KEY_USAGE_DIGITAL_SIGNATURE),
        extension(OIDS.extKeyUsage, false, sequence(oid(OIDS.clientAuth))),
      ];
      // Apple encodes the environment markers as ASN.1 NULL values.
      if (env.includes('sandbox')) extensions.push(extension(APNS_CERT_OIDS.development, false, asnNull()));
      if (env.includes('production')) extensions.push(extension(APNS_CERT_OIDS.production, false, asnNull()));
      if (options.topics !== undefined) {
        extensions.push(extension(APNS_CERT_OIDS.topics, false, encodeTopicsExtension(options.topics)));
      }
      const issuer: Issuer = options.selfSigned
        ? { name: subject, key: keys.privateKey, keyId: keyIdentifier(keys.spki) }
        : caIssuer;
      const certPem = certificate({ subject, spki: keys.spki, issuer, extensions });
      return { certPem, keyPem: privateKeyPem(keys.privateKey) };
    },
  };
}
