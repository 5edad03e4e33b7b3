/**
 * Message encryption for Web Push (RFC 8291) in the `aes128gcm` content coding (RFC 8188), with
 * node:crypto only.
 *
 *   ecdh_secret = ECDH(as_private, ua_public)                                      RFC 8291 §3.1
 *   IKM   = HKDF(salt = auth_secret, ikm = ecdh_secret,
 *                info = "WebPush: info" ‖ 0x00 ‖ ua_public ‖ as_public, L = 32)        §3.3, §3.4
 *   CEK   = HKDF(salt = salt, ikm = IKM, info = "Content-Encoding: aes128gcm" ‖ 0x00, L = 16)  RFC 8188 §2.2
 *   NONCE = HKDF(salt = salt, ikm = IKM, info = "Content-Encoding: nonce" ‖ 0x00, L = 12)      RFC 8188 §2.3
 *   body  = salt(16) ‖ rs(4, BE) ‖ idlen(1) = 65 ‖ as_public(65)
 *           ‖ AES-128-GCM(CEK, NONCE, plaintext ‖ 0x02 ‖ 0x00 × padding) ‖ tag(16)
 *
 * Exactly one record (RFC 8291 §4), so the record's nonce is NONCE XOR 0 = NONCE and its padding
 * delimiter is 0x02 ("last record", RFC 8188 §2).
 *
 * What is reused and what cannot be:
 * - A new ECDH key pair per message, not per batch. RFC 8291 §2 and §3.1: "When sending a push
 *   message, the application server also generates a new ECDH key pair … The ECDH key pair can be
 *   discarded after encrypting the message." Reusing one ephemeral key across a batch would also
 *   show the push service which subscriptions received the same broadcast (the keyid is in clear),
 *   and turn an "ephemeral" key into a medium-term secret whose leak opens the whole batch. Its cost
 *   (one key generation, ~20% of a message's crypto) is accepted.
 * - A new random salt per message (RFC 8188 §2.1: a salt must never be reused with the same keying
 *   material, or the AES-GCM key and nonce repeat).
 * - The info strings and the static parts of the header are built once per process.
 * - Per subscription nothing is cached: the ECDH secret depends on the per-message key.
 */
import { createCipheriv, createECDH, type ECDH, hkdfSync, randomBytes } from 'node:crypto';
import { WEBPUSH_HEADER_BYTES, WEBPUSH_MAX_BODY_BYTES } from '../../domain/index.ts';

/** The record size we write in the header: the 4096 every implementation uses (RFC 8291 §4). */
export const RECORD_SIZE = WEBPUSH_MAX_BODY_BYTES;
const TAG_BYTES = 16;
const SALT_BYTES = 16;
const KEY_INFO_PREFIX = Buffer.from('WebPush: info\0', 'latin1');
const CEK_INFO = Buffer.from('Content-Encoding: aes128gcm\0', 'latin1');
const NONCE_INFO = Buffer.from('Content-Encoding: nonce\0', 'latin1');
const DELIMITER = Buffer.of(0x02);

/** The recipient: the subscription's two keys, decoded. */
export interface EncryptionRecipient {
  /** 65-octet uncompressed P-256 point (keys.p256dh), already checked to be on the curve. */
  readonly p256dh: Buffer;
  /** 16-octet authentication secret (keys.auth). */
  readonly auth: Buffer;
}

/**
 * Where the per-message randomness comes from. The default draws fresh values; a test injects the
 * fixed ephemeral key and salt of RFC 8291 Appendix A to compare every byte.
 */
export interface EncryptionRandomness {
  /** A fresh ECDH key pair (prime256v1) for one message. */
  ephemeralKey(): ECDH;
  salt(): Buffer;
}

export const secureRandomness: EncryptionRandomness = {
  ephemeralKey() {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    return ecdh;
  },
  salt: () => randomBytes(SALT_BYTES),
};

/** Fixed inputs, for test vectors only: never use one key or salt for two messages. */
export function fixedRandomness(ephemeralPrivateKey: Buffer, salt: Buffer): EncryptionRandomness {
  return {
    ephemeralKey() {
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(ephemeralPrivateKey);
      return ecdh;
    },
    salt: () => Buffer.from(salt),
  };
}

export interface EncryptOptions {
  /** Zero octets after the delimiter, hiding the plaintext's length from the push service (RFC 8291 §7). */
  readonly padding?: number;
  readonly randomness?: EncryptionRandomness;
}

/**
 * The aes128gcm body for one message to one subscription. The caller has checked the plaintext
 * size (domain `checkWebPushPlaintext`); this throws if the record would not fit `rs` anyway.
 */
export function encryptWebPushPayload(
  recipient: EncryptionRecipient,
  plaintext: Uint8Array,
  options: EncryptOptions = {},
): Buffer {
  const padding = options.padding ?? 0;
  const recordLength = plaintext.length + 1 + padding + TAG_BYTES;
  // RFC 8291 §4: rs must be greater than the record (plaintext, delimiter, padding, tag).
  if (recordLength > RECORD_SIZE)
    throw new RangeError(`A ${plaintext.length}-byte plaintext does not fit one record.`);
  const randomness = options.randomness ?? secureRandomness;
  const ephemeral = randomness.ephemeralKey();
  const asPublic = ephemeral.getPublicKey();
  const ecdhSecret = ephemeral.computeSecret(recipient.p256dh);
  const salt = randomness.salt();

  const keyInfo = Buffer.concat([KEY_INFO_PREFIX, recipient.p256dh, asPublic], KEY_INFO_PREFIX.length + 130);
  const ikm = new Uint8Array(hkdfSync('sha256', ecdhSecret, recipient.auth, keyInfo, 32));
  const cek = hkdfSync('sha256', ikm, salt, CEK_INFO, 16);
  const nonce = hkdfSync('sha256', ikm, salt, NONCE_INFO, 12);

  const body = Buffer.allocUnsafe(WEBPUSH_HEADER_BYTES + recordLength);
  salt.copy(body, 0);
  body.writeUInt32BE(RECORD_SIZE, 16);
  body[20] = asPublic.length;
  asPublic.copy(body, 21);
  const cipher = createCipheriv('aes-128-gcm', new Uint8Array(cek), new Uint8Array(nonce));
  let at = WEBPUSH_HEADER_BYTES;
  at += cipher.update(plaintext).copy(body, at);
  at += cipher.update(padding === 0 ? DELIMITER : paddedDelimiter(padding)).copy(body, at);
  at += cipher.final().copy(body, at);
  cipher.getAuthTag().copy(body, at);
  return body;
}

function paddedDelimiter(padding: number): Buffer {
  const tail = Buffer.alloc(1 + padding);
  tail[0] = 0x02;
  return tail;
}
