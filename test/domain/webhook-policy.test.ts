import { describe, expect, it } from 'vitest';
import {
  checkWebhookAddress,
  checkWebhookSettings,
  checkWebhookUrl,
  classifyAddress,
} from '../../src/domain/index.ts';

const strict = { allowPrivate: false };
const lenient = { allowPrivate: true };
const SECRET = 'x'.repeat(32);

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['[::1]', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fd00::1', 'unique-local'],
    ['fc00::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:c0a8:0101::1', 'private'],
    ['1:2:3:4:5:6:7:8', 'public'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it.each(['example.com', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1::2::3', '1:2:3:4:5:6:7:8:9', 'gggg::1', ''])(
    '%s is not an address',
    (text) => {
      expect(classifyAddress(text)).toBeNull();
    },
  );
});

describe('checkWebhookUrl', () => {
  const reason = (url: string, policy = strict) => {
    const result = checkWebhookUrl(url, policy);
    return result.ok ? 'ok' : `${result.error.code} ${result.error.reason}`;
  };

  it('accepts https to a public name or address', () => {
    expect(reason('https://hooks.example.com/pushkeeper')).toBe('ok');
    expect(reason('https://8.8.8.8/hook')).toBe('ok');
    expect(reason('https://[2606:4700:4700::1111]:8443/hook')).toBe('ok');
  });

  it('refuses plain http, other schemes, and credentials in the URL', () => {
    expect(reason('http://hooks.example.com/')).toBe('PK_ERR_WEBHOOK_URL_REFUSED scheme');
    expect(reason('ftp://hooks.example.com/')).toBe('PK_ERR_WEBHOOK_URL_REFUSED scheme');
    expect(reason('https://user:pass@hooks.example.com/')).toBe(
      'PK_ERR_WEBHOOK_URL_REFUSED credentials-in-url',
    );
    expect(reason('not a url')).toBe('PK_ERR_WEBHOOK_INVALID url');
  });

  it('refuses loopback, private, link-local and unique-local addresses, however they are spelt', () => {
    for (const url of [
      'https://127.0.0.1/',
      'https://2130706433/',
      'https://0x7f.0.0.1/',
      'https://0177.0.0.1/',
      'https://127.1/',
      'https://localhost:8080/',
      'https://api.localhost/',
      'https://[::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://10.0.0.5/',
      'https://192.168.0.10/',
      'https://169.254.169.254/latest/meta-data/',
      'https://[fe80::1]/',
      'https://[fd12:3456::1]/',
    ]) {
      expect(reason(url), url).toMatch(
        /^PK_ERR_WEBHOOK_URL_REFUSED (loopback|private|link-local|unique-local)-address$/,
      );
    }
    expect(reason('https://0.0.0.0/')).toBe('PK_ERR_WEBHOOK_URL_REFUSED unspecified-address');
  });

  it('with private targets allowed: private addresses, and plain http to them only', () => {
    expect(reason('https://127.0.0.1:8443/', lenient)).toBe('ok');
    expect(reason('http://10.0.0.5/hook', lenient)).toBe('ok');
    expect(reason('http://localhost:3000/hook', lenient)).toBe('ok');
    expect(reason('http://8.8.8.8/hook', lenient)).toBe('PK_ERR_WEBHOOK_URL_REFUSED plain-http-to-public');
    // A name is checked when it resolves: at delivery time.
    expect(reason('http://hooks.internal/hook', lenient)).toBe('ok');
    expect(reason('https://0.0.0.0/', lenient)).toBe('PK_ERR_WEBHOOK_URL_REFUSED unspecified-address');
    expect(reason('https://[ff02::1]/', lenient)).toBe('PK_ERR_WEBHOOK_URL_REFUSED multicast-address');
  });
});

describe('checkWebhookAddress (what a name resolved to, at delivery)', () => {
  it('applies the same rules to resolved addresses', () => {
    expect(checkWebhookAddress('93.184.216.34', 'https:', strict).ok).toBe(true);
    expect(checkWebhookAddress('127.0.0.1', 'https:', strict).ok).toBe(false);
    expect(checkWebhookAddress('127.0.0.1', 'https:', lenient).ok).toBe(true);
    expect(checkWebhookAddress('93.184.216.34', 'http:', lenient).ok).toBe(false);
    expect(checkWebhookAddress('10.0.0.1', 'http:', lenient).ok).toBe(true);
  });
});

describe('checkWebhookSettings', () => {
  it('needs a secret of at least 32 bytes (bytes, not characters)', () => {
    const check = (secret: string) =>
      checkWebhookSettings({ url: 'https://hooks.example.com/', secret }, strict);
    expect(check(SECRET).ok).toBe(true);
    const short = check('x'.repeat(31));
    expect(!short.ok && short.error.code).toBe('PK_ERR_WEBHOOK_SECRET_TOO_SHORT');
    expect(check('é'.repeat(16)).ok).toBe(true);
    expect(check('').ok).toBe(false);
  });
});
