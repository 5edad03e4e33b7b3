/**
 * P-256 points and keys in the raw forms Web Push uses: a public key is the 65-octet uncompressed
 * point 0x04 ‖ X ‖ Y (X9.62), a VAPID private key the 32-octet scalar (RFC 8292 §3.2, as browsers'
 * `applicationServerKey` and every Web Push library carry them).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * A KeyObject for an uncompressed P-256 point; `undefined` when the octets are not a point on the
 * curve. RFC 8291 §7: "the user agent and application MUST verify that the public key they receive
 * is on the P-256 curve"; OpenSSL checks it when the JWK is imported.
 */
export function p256PublicKey(point: Uint8Array): KeyObject | undefined {
  if (point.length !== 65 || point[0] !== 0x04) return undefined;
  const bytes = Buffer.from(point.buffer, point.byteOffset, point.byteLength);
  try {
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: bytes.subarray(1, 33).toString('base64url'),
        y: bytes.subarray(33, 65).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    return undefined;
  }
}

/** True when the octets are an uncompressed point on P-256. */
export function isP256Point(point: Uint8Array): boolean {
  return p256PublicKey(point) !== undefined;
}

/** A private KeyObject from the raw scalar and its public point (which must belong to it). */
export function p256PrivateKey(scalar: Uint8Array, point: Uint8Array): KeyObject {
  const d = Buffer.from(scalar.buffer, scalar.byteOffset, scalar.byteLength);
  const pub = Buffer.from(point.buffer, point.byteOffset, point.byteLength);
  return createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: d.toString('base64url'),
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** The raw uncompressed point of a P-256 public (or private) KeyObject. */
export function rawP256Point(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.x === undefined || jwk.y === undefined) throw new Error('not an EC key');
  return Buffer.concat([Buffer.of(0x04), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}
