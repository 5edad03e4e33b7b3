/**
 * docs/identity.md's Node.js minting code, run as written against a real server: what users copy
 * must bind the alias.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  bearer,
  type CreatedApp,
  createApp,
  createHarness,
  type Harness,
  tokenFor,
} from '../http/harness.ts';

let h: Harness;
let app: CreatedApp;
const dir = mkdtempSync(join(tmpdir(), 'pk-identity-docs-'));

beforeAll(async () => {
  h = await createHarness();
  app = await createApp(h, 'Docs');
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

function nodeSnippet(): string {
  const doc = readFileSync(new URL('../../docs/identity.md', import.meta.url), 'utf8');
  const begin = doc.indexOf('<!-- identity-node-begin -->');
  const end = doc.indexOf('<!-- identity-node-end -->');
  expect(begin).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(begin);
  const block = doc.slice(begin, end);
  return block.slice(block.indexOf('```js') + '```js'.length, block.lastIndexOf('```'));
}

it('the documented Node.js minting binds the alias through the publishable key', async () => {
  const file = join(dir, 'mint.mjs');
  writeFileSync(file, nodeSnippet());
  const { mintAliasToken } = (await import(pathToFileURL(file).href)) as {
    mintAliasToken: (secret: string, userId: string, lifetimeSeconds?: number) => string;
  };
  const created = await h.app.inject({
    method: 'POST',
    url: `/v1/apps/${app.id}/identity-secret`,
    headers: bearer(app.apiKey),
  });
  const { identitySecret } = created.json();
  const token = tokenFor(0x1d0c);
  const response = await h.app.inject({
    method: 'PUT',
    url: `/v1/apps/${app.id}/devices/${token}`,
    headers: bearer(app.publishableKey),
    payload: { aliasToken: mintAliasToken(identitySecret, '42') },
  });
  expect(response.statusCode).toBe(202);
  const device = await h.store.devices.get(app.id, token);
  expect(device.ok && device.value?.alias).toBe('42');
  // The documented lifetime limit holds for the documented code too.
  const tooLong = await h.app.inject({
    method: 'PUT',
    url: `/v1/apps/${app.id}/devices/${token}`,
    headers: bearer(app.publishableKey),
    payload: { aliasToken: mintAliasToken(identitySecret, '43', 2 * 86_400) },
  });
  expect(tooLong.json().error).toMatchObject({
    code: 'PK_ERR_ALIAS_TOKEN_INVALID',
    details: { reason: 'lifetime-too-long' },
  });
});
