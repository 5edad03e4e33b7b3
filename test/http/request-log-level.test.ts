/** Request lines: successful reads at debug (pollers repeat them), writes and failures at info. */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createApp, createHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe('request log levels', () => {
  it('logs a successful GET at debug, a write and a failed GET at info', async () => {
    const app = await createApp(h, 'Levels');
    const levelOf = async (request: InjectOptions) => {
      const before = h.logLines.length;
      await h.app.inject(request);
      const line = h.logLines
        .slice(before)
        .map((text) => JSON.parse(text) as Record<string, unknown>)
        .find((record) => record['msg'] === 'request completed');
      return line?.['level'];
    };
    expect(await levelOf({ method: 'GET', url: `/v1/apps/${app.id}/devices`, headers: bearer(app.apiKey) })).toBe(20);
    expect(await levelOf({ method: 'GET', url: `/v1/apps/${app.id}/notifications/ntf_none`, headers: bearer(app.apiKey) })).toBe(30);
    expect(
      await levelOf({ method: 'PUT', url: `/v1/apps/${app.id}/devices/${'ab'.repeat(32)}`, headers: bearer(app.apiKey), payload: {} }),
    ).toBe(30);
  });
});
