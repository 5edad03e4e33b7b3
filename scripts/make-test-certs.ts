/**
 * Writes a throw-away test PKI to a directory: a CA, a server certificate for the loopback names,
 * and an APNs-style client (provider) certificate. Generated, never downloaded; nothing here is a
 * secret worth keeping.
 *
 *   node scripts/make-test-certs.ts [out-dir] [--bundle-id com.example.app] [--env production|sandbox|both]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createTestPki } from '../src/testing/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'bundle-id': { type: 'string', default: 'com.example.app' },
    env: { type: 'string', default: 'both' },
  },
});
const outDir = positionals[0] ?? 'test-certs';
const env = values.env;
if (env !== 'production' && env !== 'sandbox' && env !== 'both') {
  process.stderr.write('--env must be production, sandbox or both\n');
  process.exit(2);
}
const pki = await createTestPki();
const client = await pki.issueClientCertificate({
  bundleId: values['bundle-id'],
  environments: env === 'both' ? ['sandbox', 'production'] : [env],
});
await mkdir(outDir, { recursive: true });
const files: [string, string][] = [
  ['ca.pem', pki.caCertPem],
  ['ca-key.pem', pki.caKeyPem],
  ['server-cert.pem', pki.serverCertPem],
  ['server-key.pem', pki.serverKeyPem],
  ['client-cert.pem', client.certPem],
  ['client-key.pem', client.keyPem],
];
for (const [name, pem] of files) {
  await writeFile(path.join(outDir, name), pem, { mode: name.endsWith('key.pem') ? 0o600 : 0o644 });
}
process.stdout.write(`Wrote ${files.map(([name]) => name).join(', ')} to ${outDir}\n`);
