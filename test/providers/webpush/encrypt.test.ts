import { createECDH, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkWebPushPlaintext, WEBPUSH_MAX_PLAINTEXT_BYTES } from '../../../src/domain/index.ts';
import { encryptWebPushPayload, fixedRandomness } from '../../../src/providers/webpush/encrypt.ts';
import { decryptWebPushBody } from '../../../src/testing/webpush-decrypt.ts';
import { b64u, RFC8291 } from './rfc8291-vector.ts';

const recipient = { p256dh: b64u(RFC8291.uaPublic), auth: b64u(RFC8291.authSecret) };
const receiver = {
  privateKey: b64u(RFC8291.uaPrivate),
  publicKey: b64u(RFC8291.uaPublic),
  authSecret: b64u(RFC8291.authSecret),
};

function newReceiver() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const authSecret = randomBytes(16);
  return {
    recipient: { p256dh: ecdh.getPublicKey(), auth: authSecret },
    keys: { privateKey: ecdh.getPrivateKey(), publicKey: ecdh.getPublicKey(), authSecret },
  };
}

describe('RFC 8291 aes128gcm encryption', () => {
  it('reproduces Appendix A byte for byte with the fixed ephemeral key and salt', () => {
    const body = encryptWebPushPayload(recipient, b64u(RFC8291.plaintext), {
      randomness: fixedRandomness(b64u(RFC8291.asPrivate), b64u(RFC8291.salt)),
    });
    expect(body.length).toBe(144);
    expect(body.subarray(0, 86).toString('base64url')).toBe(RFC8291.header);
    expect(body.subarray(86).toString('base64url')).toBe(RFC8291.record);
    expect(body.toString('base64url')).toBe(RFC8291.body);
    expect(body.readUInt32BE(16)).toBe(4096);
  });

  it('the independent decryptor opens the RFC body to the RFC plaintext', () => {
    const outcome = decryptWebPushBody(b64u(RFC8291.body), receiver);
    expect(outcome.ok && outcome.plaintext.toString('utf8')).toBe(
      'When I grow up, I want to be a watermelon',
    );
    expect(outcome.ok && outcome.senderKey.toString('base64url')).toBe(RFC8291.asPublic);
  });

  it('draws a fresh ephemeral key and salt for every message', () => {
    const a = encryptWebPushPayload(recipient, Buffer.from('same'));
    const b = encryptWebPushPayload(recipient, Buffer.from('same'));
    expect(a.subarray(0, 16).equals(b.subarray(0, 16))).toBe(false);
    expect(a.subarray(21, 86).equals(b.subarray(21, 86))).toBe(false);
  });

  it('round-trips arbitrary payloads up to the 3993-byte limit, with padding, through the independent decryptor', () => {
    const { recipient: to, keys } = newReceiver();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: WEBPUSH_MAX_PLAINTEXT_BYTES }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer(),
        (size, pad, seed) => {
          const padding = Math.min(pad, WEBPUSH_MAX_PLAINTEXT_BYTES - size);
          const plaintext = Buffer.alloc(size, seed & 0xff);
          if (size > 0) plaintext[size - 1] = 0; // trailing zeros in the plaintext must survive unpadding
          const body = encryptWebPushPayload(to, plaintext, { padding });
          expect(body.length).toBe(86 + size + 1 + padding + 16);
          expect(body.length).toBeLessThanOrEqual(4096);
          const outcome = decryptWebPushBody(body, keys);
          expect(outcome.ok).toBe(true);
          if (outcome.ok) {
            expect(outcome.plaintext.equals(plaintext)).toBe(true);
            expect(outcome.padding).toBe(padding);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the largest plaintext makes exactly a 4096-byte body; one byte more is refused before encrypting', () => {
    const { recipient: to, keys } = newReceiver();
    const body = encryptWebPushPayload(to, Buffer.alloc(3993, 7));
    expect(body.length).toBe(4096);
    expect(decryptWebPushBody(body, keys).ok).toBe(true);
    const over = checkWebPushPlaintext(3994);
    expect(over.ok || over.error.code).toBe('PK_ERR_WEBPUSH_PAYLOAD_TOO_LARGE');
    expect(over.ok || over.error.details).toEqual({ bytes: 3994, limit: 3993 });
    expect(() => encryptWebPushPayload(to, Buffer.alloc(4080))).toThrow(RangeError);
  });

  it('a message for another subscription, or with the wrong auth secret, fails the tag', () => {
    const a = newReceiver();
    const b = newReceiver();
    const body = encryptWebPushPayload(a.recipient, Buffer.from('secret'));
    const other = decryptWebPushBody(body, b.keys);
    expect(other.ok || other.failure).toBe('tag-mismatch');
    const wrongAuth = decryptWebPushBody(body, { ...a.keys, authSecret: randomBytes(16) });
    expect(wrongAuth.ok || wrongAuth.failure).toBe('tag-mismatch');
  });
});
