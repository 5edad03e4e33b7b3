/** The NDJSON import over a real socket: streamed in chunks, and a client that goes away mid-upload. */
import { request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bearer, type CreatedApp, createApp, createHarness, type Harness, tokenFor } from './harness.ts';

let h: Harness;
let app: CreatedApp;
let base: URL;
beforeAll(async () => {
  h = await createHarness();
  app = await createApp(h);
  base = new URL(await h.app.listen({ host: '127.0.0.1', port: 0 }));
});
afterAll(async () => {
  await h.close();
});

function upload() {
  return request({
    host: base.hostname,
    port: base.port,
    method: 'POST',
    path: `/v1/apps/${app.id}/devices:import`,
    headers: { ...bearer(app.apiKey), 'content-type': 'application/x-ndjson' },
  });
}

it('imports a chunked upload whose chunks split lines', async () => {
  const body = Array.from(
    { length: 3000 },
    (_, i) => `${JSON.stringify({ token: tokenFor(i + 1), alias: 'chunked' })}\n`,
  ).join('');
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = upload();
    req.on('response', (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    for (let offset = 0; offset < body.length; offset += 777) req.write(body.slice(offset, offset + 777));
    req.end();
  });
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.body)).toMatchObject({ created: 3000, rejected: 0 });
  expect(await h.store.devices.count(app.id, { alias: 'chunked' })).toBe(3000);
});

it('treats a client that disconnects mid-upload as aborted, not as a server error', async () => {
  const req = upload();
  req.on('error', () => {});
  req.write(`${JSON.stringify({ token: tokenFor(0xf0001) })}\n{"token": "ab`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  req.destroy();
  for (let i = 0; i < 200 && !h.logLines.some((line) => line.includes('aborted by the client')); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(h.logLines.some((line) => line.includes('aborted by the client'))).toBe(true);
  expect(h.logLines.some((line) => line.includes('unexpected error'))).toBe(false);
  // The server still answers.
  const health = await h.app.inject({ method: 'GET', url: '/healthz' });
  expect(health.statusCode).toBe(200);
});
