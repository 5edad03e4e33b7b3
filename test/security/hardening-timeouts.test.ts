/**
 * Slow clients are cut off (slowloris): a request whose headers or body never finish answers 408
 * from the catalogue and its connection is closed, with short configured timeouts over a real
 * socket. The deadline below only bounds the wait: with no timeout the socket stays open forever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CreatedApp, createApp, createHarness, type Harness, tokenFor } from '../http/harness.ts';
import { collectUntilClose, openSocket } from './raw-http.ts';

let h: Harness;
let app: CreatedApp;
let port: number;

const WAIT_MS = 15_000;

beforeAll(async () => {
  h = await createHarness({
    httpRequestTimeoutMs: 800,
    httpHeadersTimeoutMs: 400,
    httpIdleTimeoutMs: 60_000,
  });
  app = await createApp(h);
  port = Number(new URL(await h.app.listen({ host: '127.0.0.1', port: 0 })).port);
});
afterAll(async () => {
  await h.close();
});

describe('slow clients', () => {
  it('headers plus Content-Length: 100 plus one byte: 408 and the connection closed', async () => {
    const socket = await openSocket(port);
    const result = await collectUntilClose(socket, WAIT_MS, () => {
      socket.write(
        `PUT /v1/apps/${app.id}/devices/${tokenFor(1)} HTTP/1.1\r\nHost: x\r\n` +
          `Authorization: Bearer ${app.publishableKey}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
      );
    });
    expect(result.closedByServer).toBe(true);
    expect(result.responses).toHaveLength(1);
    expect(result.responses[0]?.status).toBe(408);
    expect(JSON.parse(result.responses[0]!.body).error.code).toBe('PK_ERR_REQUEST_TIMEOUT');
    const stored = await h.store.devices.get(app.id, tokenFor(1));
    expect(stored.ok && stored.value).toBeNull();
  });

  it('headers that never end: 408 and the connection closed', async () => {
    const socket = await openSocket(port);
    const result = await collectUntilClose(socket, WAIT_MS, () => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a');
    });
    expect(result.closedByServer).toBe(true);
    expect(result.responses[0]?.status).toBe(408);
    expect(JSON.parse(result.responses[0]!.body).error.code).toBe('PK_ERR_REQUEST_TIMEOUT');
  });

  it('a silent connection is closed after the idle timeout', async () => {
    const idle = await createHarness({ httpIdleTimeoutMs: 300, httpKeepAliveTimeoutMs: 300 });
    try {
      const idlePort = Number(new URL(await idle.app.listen({ host: '127.0.0.1', port: 0 })).port);
      const socket = await openSocket(idlePort);
      const result = await collectUntilClose(socket, WAIT_MS, () => {
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      // One answer, then the keep-alive connection is closed for silence.
      expect(result.closedByServer).toBe(true);
      expect(result.responses.map((r) => r.status)).toEqual([200]);
    } finally {
      await idle.close();
    }
  });

  it('the server applies the configured values', async () => {
    expect(h.app.server.requestTimeout).toBe(800);
    expect(h.app.server.headersTimeout).toBe(400);
    expect(h.app.server.timeout).toBe(60_000);
  });
});
