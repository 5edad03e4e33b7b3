/**
 * The logs of a realistic run hold no secret. A real `pushkeeper serve` process (debug level, every
 * line captured from its stdout and stderr) against an in-process mock APNs and a webhook receiver:
 * an app created with a .p8 key and a webhook, an identity secret, devices registered through the
 * publishable key with aliasTokens (and with forged ones), pushes by alias and token, a device APNs
 * reports unregistered and the webhook that follows, and requests that fail in the ways that tend to
 * log what they should not (a wrong key, a JWT as a bearer key, a bad body).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/index.ts';
import {
  createTestPki,
  generateSigningKey,
  type MockApnsServer,
  startMockApnsServer,
} from '../../src/testing/index.ts';
import { aliasTokenFor, mintAliasToken } from './alias-token-minting.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TEAM_ID = 'TEAM123456';
const KEY_ID = 'KEYID12345';
const TOPIC = 'com.example.logs';
const STAYS = 'd1'.repeat(32);
const GOES = 'e2'.repeat(32);

let dir: string;
let serve: ChildProcess;
let apns: MockApnsServer;
let receiver: Server;
let receiverUrl: string;
let baseUrl: string;
let caPem: string;
const output: string[] = [];
const webhookBodies: { body: Buffer; signature: string }[] = [];
const signingKey = generateSigningKey({ teamId: TEAM_ID, keyId: KEY_ID });
const webhookSecret = `whsec_${randomBytes(32).toString('hex')}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pk-logs-'));
  const pki = await createTestPki();
  caPem = pki.caCertPem;
  apns = await startMockApnsServer({
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
    environment: 'production',
    signingKeys: [{ teamId: TEAM_ID, keyId: KEY_ID, publicKeyPem: signingKey.publicKeyPem }],
  });
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      webhookBodies.push({
        body: Buffer.concat(chunks),
        signature: String(request.headers['pushkeeper-signature']),
      });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  serve = spawn(process.execPath, [MAIN, 'serve'], {
    env: {
      PATH: process.env['PATH'],
      HOME: dir,
      PUSHKEEPER_DATA_DIR: join(dir, 'data'),
      PUSHKEEPER_PORT: '0',
      PUSHKEEPER_LOG_LEVEL: 'debug',
      PUSHKEEPER_WEBHOOK_ALLOW_PRIVATE: 'true',
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  baseUrl = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      seen += text;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (match) resolve(match[1]!);
    };
    serve.stdout!.on('data', onData);
    serve.stderr!.on('data', onData);
    serve.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${seen}`)));
  });
}, 30_000);

afterAll(async () => {
  await new Promise<void>((resolve) => {
    if (serve.exitCode !== null || serve.signalCode !== null) return resolve();
    const force = setTimeout(() => serve.kill('SIGKILL'), 10_000);
    serve.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    serve.kill('SIGTERM');
  });
  await apns.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

async function api(method: string, path: string, key: string | null, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text.length > 0 ? JSON.parse(text) : null };
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('a realistic run logs no key, secret, aliasToken, private key or full device token', async () => {
  const adminToken = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
  const created = await api('POST', '/v1/apps', adminToken, {
    name: 'Logs',
    topic: TOPIC,
    apns: { auth: 'token', teamId: TEAM_ID, keyId: KEY_ID, privateKey: signingKey.privateKeyPem },
    endpoints: { production: apns.url, sandbox: apns.url, caPem },
    webhook: { url: receiverUrl, secret: webhookSecret },
  });
  expect(created.status).toBe(201);
  const {
    id: appId,
    apiKey,
    publishableKey,
  } = created.json as { id: string; apiKey: string; publishableKey: string };
  const rotated = await api('POST', `/v1/apps/${appId}/identity-secret`, apiKey);
  expect(rotated.status).toBe(201);
  const identitySecret = rotated.json.identitySecret as string;

  apns.registerDevice(STAYS, { topic: TOPIC });
  apns.registerDevice(GOES, { topic: TOPIC });
  const aliasTokens = [aliasTokenFor(identitySecret, 'user-42'), aliasTokenFor(identitySecret, 'user-42')];
  const forged = mintAliasToken('pk_idsec_not-the-secret', {
    sub: 'user-42',
    exp: Math.floor(Date.now() / 1000) + 60,
  });
  for (const [token, aliasToken] of [
    [STAYS, aliasTokens[0]],
    [GOES, aliasTokens[1]],
  ] as const) {
    expect(
      (await api('PUT', `/v1/apps/${appId}/devices/${token}`, publishableKey, { aliasToken })).status,
    ).toBe(202);
  }
  expect(
    (await api('PUT', `/v1/apps/${appId}/devices/${STAYS}`, publishableKey, { aliasToken: forged })).status,
  ).toBe(403);
  expect(
    (await api('PUT', `/v1/apps/${appId}/devices/${STAYS}`, publishableKey, { alias: 'victim' })).status,
  ).toBe(403);
  apns.unregisterDevice(GOES, Date.now() + 1_000);

  const pushed = await api('POST', `/v1/apps/${appId}/notifications`, apiKey, {
    audience: { alias: 'user-42' },
    payload: { aps: { alert: 'Your sign-in code is 123456' } },
  });
  expect(pushed.status).toBe(202);
  const notificationId = pushed.json.id as string;
  await until(
    async () =>
      (await api('GET', `/v1/apps/${appId}/notifications/${notificationId}`, apiKey)).json.status === 'done',
    'the push',
  );
  await until(() => webhookBodies.length > 0, 'the webhook');
  expect(verifyWebhookSignature(webhookSecret, webhookBodies[0]!.body, webhookBodies[0]!.signature)).toBe(
    true,
  );

  // Requests that fail: a wrong key, a JWT as the key, a key in the query, a bad body.
  expect((await api('GET', `/v1/apps/${appId}/devices`, `${apiKey}x`)).status).toBe(401);
  expect((await api('GET', `/v1/apps/${appId}/devices`, aliasTokens[0]!)).status).toBe(401);
  expect((await api('GET', `/v1/apps/${appId}/devices?key=${apiKey}&t=${identitySecret}`, null)).status).toBe(
    401,
  );
  expect(
    (
      await api(
        'PATCH',
        `/v1/apps/${appId}`,
        adminToken,
        `{"webhook": {"url": "${receiverUrl}", "secret": "short"}}`,
      )
    ).status,
  ).toBe(400);
  expect((await api('POST', `/v1/apps/${appId}/notifications`, apiKey, '{"audience": ')).status).toBe(400);

  // Let the last lines reach the pipe.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const logs = output.join('');
  expect(logs).toContain('request completed');
  expect(logs).toContain('identity secret rotated');
  expect(logs).toMatch(/removed token e2e2…e2e2/);
  const privateKeyBody = signingKey.privateKeyPem
    .split('\n')
    .filter((line) => !line.startsWith('-----'))
    .join('');
  const secrets: [string, string][] = [
    ['admin token', adminToken],
    ['server key', apiKey],
    ['publishable key', publishableKey],
    ['identity secret', identitySecret],
    ['webhook secret', webhookSecret],
    ['forged aliasToken', forged],
    ...aliasTokens.map((token, i): [string, string] => [`aliasToken ${i}`, token]),
    ['private key', privateKeyBody.slice(0, 40)],
    ['private key (end)', privateKeyBody.slice(-40)],
    ['a full device token', STAYS],
    ['a full device token', GOES],
  ];
  for (const [name, secret] of secrets) expect(logs.includes(secret), `${name} in the logs`).toBe(false);
  // And nothing shaped like one, whatever the value.
  for (const pattern of [
    /pk_(server|pub|admin|idsec)_[A-Za-z0-9_-]{8}/,
    /eyJ[A-Za-z0-9_-]{8}/,
    /-----BEGIN/,
    /[0-9a-f]{64}/,
  ]) {
    expect(logs, String(pattern)).not.toMatch(pattern);
  }
}, 60_000);
