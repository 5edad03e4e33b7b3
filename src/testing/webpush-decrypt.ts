/**
 * The receiving side of RFC 8291 / RFC 8188 `aes128gcm`, as a browser does it — written separately
 * from the sender's encryptor (HKDF spelled out as HMAC steps, the header parsed field by field) so
 * that the mock push service is an independent judge of what the sender produced.
 *
 * Checks, in order (RFC 8188 §2, RFC 8291 §4): header length, idlen = 65, keyid an uncompressed point
 * on P-256, rs ≥ 18, exactly one record no longer than rs, the GCM tag, and the padding: trailing
 * zeros after a 0x02 delimiter (anything else is discarded, RFC 8291 §4).
 */
import { createDecipheriv, createECDH, createHmac, createPublicKey } from 'node:crypto';

export type DecryptFailure =
  | 'body-too-short'
  | 'idlen-not-65'
  | 'keyid-not-a-point'
  | 'rs-too-small'
  | 'more-than-one-record'
  | 'record-too-short'
  | 'tag-mismatch'
  | 'bad-delimiter';

export type DecryptOutcome =
  | {
      readonly ok: true;
      readonly plaintext: Buffer;
      readonly salt: Buffer;
      readonly senderKey: Buffer;
      readonly recordSize: number;
      readonly padding: number;
    }
  | { readonly ok: false; readonly failure: DecryptFailure };

export interface ReceiverKeys {
  /** The UA's ECDH private scalar (32 octets). */
  readonly privateKey: Buffer;
  /** The UA's public point (65 octets), ua_public in key_info. */
  readonly publicKey: Buffer;
  /** The 16-octet authentication secret. */
  readonly authSecret: Buffer;
}

function hmac(key: Buffer, ...parts: Buffer[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function onCurve(point: Buffer): boolean {
  if (point.length !== 65 || point[0] !== 0x04) return false;
  try {
    createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
    return true;
  } catch {
    return false;
  }
}

function failure(reason: DecryptFailure): DecryptOutcome {
  return { ok: false, failure: reason };
}

/** Decrypts one Web Push message body for the receiver holding `keys`. */
export function decryptWebPushBody(body: Buffer, keys: ReceiverKeys): DecryptOutcome {
  if (body.length < 21) return failure('body-too-short');
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idlen = body[20]!;
  if (idlen !== 65) return failure('idlen-not-65');
  if (body.length < 21 + idlen) return failure('body-too-short');
  const senderKey = body.subarray(21, 21 + idlen);
  if (!onCurve(senderKey)) return failure('keyid-not-a-point');
  if (recordSize < 18) return failure('rs-too-small');
  const record = body.subarray(21 + idlen);
  if (record.length > recordSize) return failure('more-than-one-record');
  if (record.length < 17) return failure('record-too-short');

  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(keys.privateKey);
  const sharedSecret = ecdh.computeSecret(senderKey);
  // RFC 8291 §3.3/§3.4 as written there: HKDF-Extract then one block of HKDF-Expand.
  const prkKey = hmac(keys.authSecret, sharedSecret);
  const keyInfo = Buffer.concat([
    Buffer.from('WebPush: info', 'ascii'),
    Buffer.of(0),
    keys.publicKey,
    senderKey,
  ]);
  const ikm = hmac(prkKey, keyInfo, Buffer.of(1));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm', 'ascii'), Buffer.of(0, 1)).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce', 'ascii'), Buffer.of(0, 1)).subarray(0, 12);

  const tag = record.subarray(record.length - 16);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(tag);
  let padded: Buffer;
  try {
    padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  } catch {
    return failure('tag-mismatch');
  }
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end -= 1;
  if (end < 0 || padded[end] !== 0x02) return failure('bad-delimiter');
  return {
    ok: true,
    plaintext: padded.subarray(0, end),
    salt: Buffer.from(salt),
    senderKey: Buffer.from(senderKey),
    recordSize,
    padding: padded.length - 1 - end,
  };
}
