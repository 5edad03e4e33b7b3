/** scripts/make-test-certs.ts writes a PKI whose certificates chain and carry APNs' markers. */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readProviderCertificate } from '../../src/testing/client-certificate.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pk-certs-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('writes a CA, a server certificate and a provider certificate', async () => {
  const node = path.resolve('node_modules/.bin/node');
  const { stdout } = await promisify(execFile)(node, [
    'scripts/make-test-certs.ts',
    dir,
    '--bundle-id',
    'com.example.cli',
    '--env',
    'sandbox',
  ]);
  expect(stdout).toContain('ca.pem');
  const read = async (name: string) => new X509Certificate(await readFile(path.join(dir, name)));
  const ca = await read('ca.pem');
  const server = await read('server-cert.pem');
  const client = await read('client-cert.pem');
  expect(server.verify(ca.publicKey)).toBe(true);
  expect(client.verify(ca.publicKey)).toBe(true);
  expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
  expect(readProviderCertificate(client.raw)).toEqual({
    bundleId: 'com.example.cli',
    environments: ['sandbox'],
  });
});
