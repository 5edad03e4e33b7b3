/**
 * Secrets at rest (APNs credentials, webhook secrets): AES-256-GCM under PUSHKEEPER_SECRET_KEY.
 * The associated data binds a ciphertext to its app and topic (and purpose), so a blob copied onto
 * another app's row, or left behind by a topic change, fails to decrypt instead of being used.
 *
 * Envelope: version (1 byte = 1) | IV (12 random bytes, NIST SP 800-38D's recommended size) |
 * tag (16 bytes) | ciphertext.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { PushkeeperError } from '../errors.ts';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;

export interface CipherContext {
  readonly appId: string;
  readonly topic: string;
  readonly purpose: 'credentials' | 'webhook-secret' | 'identity-secret';
}

function associatedData(context: CipherContext): Buffer {
  // Length-prefixed parts: no two different contexts serialise to the same bytes.
  const parts = [`pushkeeper/v${VERSION}`, context.purpose, context.appId, context.topic];
  return Buffer.concat(
    parts.flatMap((part) => {
      const bytes = Buffer.from(part, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return [length, bytes];
    }),
  );
}

export class CredentialCipher {
  readonly #key: Buffer;

  constructor(secretKey: Buffer) {
    if (secretKey.length !== 32) {
      throw new PushkeeperError('PK_ERR_CONFIG_INVALID', 'The secret key must be exactly 32 bytes.', {
        length: secretKey.length,
      });
    }
    this.#key = Buffer.from(secretKey);
  }

  encrypt(plaintext: string, context: CipherContext): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
  }

  /** Throws PK_ERR_DECRYPT_FAILED on a wrong key, a tampered blob or a mismatched context. */
  decrypt(envelope: Uint8Array, context: CipherContext): string {
    const bytes = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
    if (bytes.length < HEADER_BYTES || bytes[0] !== VERSION) {
      throw new PushkeeperError('PK_ERR_DECRYPT_FAILED', undefined, {
        appId: context.appId,
        why: 'envelope',
      });
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(1, 1 + IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(associatedData(context));
      decipher.setAuthTag(bytes.subarray(1 + IV_BYTES, HEADER_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch (error) {
      throw new PushkeeperError(
        'PK_ERR_DECRYPT_FAILED',
        undefined,
        { appId: context.appId },
        { cause: error },
      );
    }
  }
}
