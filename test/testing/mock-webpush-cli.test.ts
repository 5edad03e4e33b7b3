/** `pushkeeper mock-webpush` and its control API, driven as a user would: flags, files, HTTP. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerMockWebPushCommand } from '../../src/cli/commands/mock-webpush.ts';
import { generateVapidKeys, WebPushClient } from '../../src/providers/webpush/index.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pk-mock-webpush-cli-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]) {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const stdout = new PassThrough();
  let printed = '';
  stdout.on('data', (chunk: Buffer) => {
    printed += chunk.toString();
  });
  const program = new Command('pushkeeper').exitOverride();
  registerMockWebPushCommand(program, { stdout, untilStopped: () => stopped });
  const finished = program.parseAsync(['node', 'pushkeeper', 'mock-webpush', ...args]);
  for (let i = 0; i < 1000 && !printed.includes('Ctrl+C'); i++) {
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 10))]);
  }
  const field = (label: string) => new RegExp(`${label}[^\\n]*?: (\\S+)`).exec(printed)?.[1];
  return {
    origin: field('Mock push service')!,
    controlUrl: field('Control API')!,
    caPath: field('Trust this CA')!,
    subscriptionsPath: field('Subscriptions')!,
    async stop() {
      stop();
      await finished;
    },
  };
}

async function call(url: string, method: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? undefined : JSON.parse(text) };
}

describe('pushkeeper mock-webpush', () => {
  it('mints subscriptions, decrypts what a sender pushes, and is driven by the control API', async () => {
    const cli = await run(['--port', '0', '--control-port', '0', '--subscriptions', '2', '--out', dir]);
    try {
      const subscriptions = JSON.parse(await readFile(cli.subscriptionsPath, 'utf8')) as {
        endpoint: string;
        keys: { p256dh: string; auth: string };
      }[];
      expect(subscriptions).toHaveLength(2);
      const client = new WebPushClient({
        vapid: { ...generateVapidKeys(), subject: 'mailto:ops@example.com' },
        allowedEndpointHosts: [new URL(cli.origin).host],
        tls: { ca: await readFile(cli.caPath, 'utf8') },
        maxAttempts: 1,
      });
      try {
        expect(
          await client.send(subscriptions[0]!, {
            payload: '{"title":"hi"}',
            ttlSeconds: 60,
            topic: 'greeting',
          }),
        ).toMatchObject({
          kind: 'accepted',
        });
        const messages = await call(`${cli.controlUrl}/messages`, 'GET');
        expect(messages.json).toEqual([
          expect.objectContaining({
            endpoint: subscriptions[0]!.endpoint,
            json: { title: 'hi' },
            topic: 'greeting',
            ttl: 60,
          }),
        ]);

        const minted = await call(`${cli.controlUrl}/subscriptions`, 'POST', { withQuery: true });
        expect(minted.status).toBe(201);
        const fresh = minted.json as { endpoint: string; keys: { p256dh: string; auth: string } };
        expect(fresh.endpoint).toContain('?token=');
        expect(
          (
            await call(`${cli.controlUrl}/subscriptions/state`, 'PUT', {
              endpoint: fresh.endpoint,
              state: 'gone',
            })
          ).status,
        ).toBe(204);
        expect(await client.send(fresh, { payload: 'x', ttlSeconds: 60 })).toMatchObject({
          status: 410,
          disposition: 'invalidate-token',
        });

        expect(
          (
            await call(`${cli.controlUrl}/faults`, 'PUT', {
              tooManyRequests: { probability: 1, retryAfterSeconds: 5 },
            })
          ).status,
        ).toBe(204);
        expect(await client.send(subscriptions[1]!, { payload: 'x', ttlSeconds: 60 })).toMatchObject({
          status: 429,
          retryAfterMs: 5000,
        });
        const stats = (await call(`${cli.controlUrl}/stats`, 'GET')).json as Record<string, number>;
        expect(stats).toMatchObject({ accepted: 1, rejected: 1, faults: 1, decrypted: 1 });
        expect((await call(`${cli.controlUrl}/reset`, 'POST')).status).toBe(204);
        expect((await call(`${cli.controlUrl}/messages`, 'GET')).json).toEqual([]);
        expect((await call(`${cli.controlUrl}/nothing`, 'GET')).status).toBe(404);
        expect(
          (await call(`${cli.controlUrl}/subscriptions/state`, 'PUT', { endpoint: 'x', state: 'sleepy' }))
            .status,
        ).toBe(400);
      } finally {
        await client.close();
      }
    } finally {
      await cli.stop();
    }
  });

  it('refuses an unknown protocol list with a usage error', async () => {
    const program = new Command('pushkeeper').exitOverride();
    registerMockWebPushCommand(program, { stdout: new PassThrough(), untilStopped: () => Promise.resolve() });
    await expect(
      program.parseAsync([
        'node',
        'pushkeeper',
        'mock-webpush',
        '--port',
        '0',
        '--control-port',
        '0',
        '--protocols',
        'h3',
      ]),
    ).rejects.toMatchObject({
      exitCode: 2,
    });
  });
});
