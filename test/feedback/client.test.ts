import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isPushkeeperError, type PushkeeperError } from '../../src/errors.ts';
import { type FeedbackConnectOptions, pollFeedback, readFeedback } from '../../src/feedback/client.ts';
import {
  type MockFeedbackServer,
  type MockFeedbackServerOptions,
  type MockFeedbackTuple,
  startMockFeedbackServer,
} from '../../src/testing/mock-feedback-server.ts';
import { type TestPki, createTestPki } from '../../src/testing/test-pki.ts';

/** The reference decoder of this test: whole-buffer, written from Apple's archived "The Feedback Service" tuple layout. */
function referenceDecode(bytes: Buffer): { failedAtMs: number; tokenHex: string }[] {
  const out: { failedAtMs: number; tokenHex: string }[] = [];
  for (let at = 0; at + 6 <= bytes.length; ) {
    const length = bytes.readUInt16BE(at + 4);
    if (at + 6 + length > bytes.length) break;
    out.push({
      failedAtMs: bytes.readUInt32BE(at) * 1000,
      tokenHex: bytes.toString('hex', at + 6, at + 6 + length),
    });
    at += 6 + length;
  }
  return out;
}

function wire(tuples: readonly MockFeedbackTuple[]): Buffer {
  return Buffer.concat(
    tuples.map((t) => {
      const token = Buffer.from(t.token, 'hex');
      const head = Buffer.alloc(6);
      head.writeUInt32BE(t.timestampSeconds, 0);
      head.writeUInt16BE(token.length, 4);
      return Buffer.concat([head, token]);
    }),
  );
}

/** Mixed token sizes, including a long one, so chunk boundaries fall everywhere. */
function someTuples(count: number, seed: number): MockFeedbackTuple[] {
  return Array.from({ length: count }, (_, i) => {
    const size = i % 5 === 4 ? 100 : i % 7 === 6 ? 3 : 32;
    const token = Buffer.alloc(size);
    for (let b = 0; b < size; b++) token[b] = (seed * 31 + i * 7 + b) & 0xff;
    return { token: token.toString('hex'), timestampSeconds: 1_600_000_000 + seed * 100_000 + i };
  });
}

let pki: TestPki;
let client: { certPem: string; keyPem: string };
let server: MockFeedbackServer | undefined;
let extraServer: Server | undefined;
const extraSockets = new Set<Socket>();

beforeAll(async () => {
  pki = await createTestPki();
  client = await pki.issueClientCertificate({ bundleId: 'com.example.app', environments: ['production'] });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const socket of extraSockets) socket.destroy();
  extraSockets.clear();
  await new Promise<void>((resolve) => (extraServer ? extraServer.close(() => resolve()) : resolve()));
  extraServer = undefined;
});

async function start(options: Partial<MockFeedbackServerOptions> = {}): Promise<MockFeedbackServer> {
  server = await startMockFeedbackServer({
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem },
    ...options,
  });
  return server;
}

function optionsFor(
  s: { host: string; port: number },
  extra: Partial<FeedbackConnectOptions> = {},
): FeedbackConnectOptions {
  return {
    host: s.host,
    port: s.port,
    ca: pki.caCertPem,
    certificate: { certPem: client.certPem, keyPem: client.keyPem },
    connectTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    ...extra,
  };
}

async function failure(promise: Promise<unknown>): Promise<PushkeeperError> {
  try {
    await promise;
  } catch (error) {
    if (isPushkeeperError(error)) return error;
    throw error;
  }
  throw new Error('expected a PushkeeperError, got success');
}

describe('feedback client against the mock feedback service', () => {
  it('decodes exactly what was queued for every chunk size from 1 to 64', async () => {
    const s = await start();
    for (let size = 1; size <= 64; size++) {
      const queued = someTuples(12, size);
      s.setChunkSize(size);
      s.queue(queued);
      const { tuples, truncatedBytes } = await pollFeedback(optionsFor(s));
      expect(truncatedBytes).toBe(0);
      expect(tuples.map((t) => ({ failedAtMs: t.failedAt.getTime(), tokenHex: t.tokenHex }))).toEqual(
        referenceDecode(wire(queued)),
      );
    }
  });

  it('decodes random chunk sizes and finds nothing on the second connection', async () => {
    const s = await start({ chunkSize: { min: 1, max: 200, seed: 7 } });
    const queued = someTuples(300, 1);
    s.queue(queued);
    const batches: number[] = [];
    const first = await readFeedback(optionsFor(s), (batch) => {
      batches.push(batch.length);
    });
    expect(first).toEqual({ tuplesRead: 300, truncatedBytes: 0 });
    expect(batches.reduce((a, b) => a + b, 0)).toBe(300);
    const second = await pollFeedback(optionsFor(s));
    expect(second).toEqual({ tuples: [], truncatedBytes: 0 });
  });

  it('uses a PKCS#12 bundle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pk-feedback-p12-'));
    try {
      writeFileSync(join(dir, 'c.pem'), client.certPem);
      writeFileSync(join(dir, 'k.pem'), client.keyPem);
      execFileSync(
        'openssl',
        ['pkcs12', '-export', '-in', 'c.pem', '-inkey', 'k.pem', '-passout', 'pass:p12pass', '-out', 'c.p12'],
        {
          cwd: dir,
          stdio: 'pipe',
        },
      );
      const pfx = readFileSync(join(dir, 'c.p12'));
      const s = await start();
      s.queue(someTuples(2, 2));
      const result = await pollFeedback(optionsFor(s, { certificate: { pfx, passphrase: 'p12pass' } }));
      expect(result.tuples).toHaveLength(2);
      expect(s.connections[0]!.clientSubject?.['UID']).toBe('com.example.app');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses an encrypted PEM key with its passphrase; a wrong one is PK_ERR_CREDENTIALS_INVALID', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const encrypted = createPrivateKey(client.keyPem)
      .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();
    const s = await start();
    s.queue(someTuples(2, 3));
    const result = await pollFeedback(
      optionsFor(s, { certificate: { certPem: client.certPem, keyPem: encrypted, passphrase: 'secret' } }),
    );
    expect(result.tuples).toHaveLength(2);
    const wrong = await failure(
      pollFeedback(
        optionsFor(s, { certificate: { certPem: client.certPem, keyPem: encrypted, passphrase: 'nope' } }),
      ),
    );
    expect(wrong.code).toBe('PK_ERR_CREDENTIALS_INVALID');
  });

  it('hits the idle timeout when the service stalls mid-tuple and has handed over only complete tuples', async () => {
    const s = await start({ chunkSize: 5, faults: { stallMidTuple: { afterTuples: 3 } } });
    const queued = someTuples(6, 4);
    s.queue(queued);
    const handed: string[] = [];
    const error = await failure(
      readFeedback(optionsFor(s, { idleTimeoutMs: 300 }), (batch) => {
        for (const t of batch) handed.push(t.tokenHex);
      }),
    );
    expect(error.code).toBe('PK_ERR_FEEDBACK_TIMEOUT');
    expect(error.details).toMatchObject({ phase: 'read', tuplesRead: 3 });
    expect((error.details as { truncatedBytes: number }).truncatedBytes).toBeGreaterThan(0);
    expect(handed).toEqual(queued.slice(0, 3).map((t) => t.token));
  });

  it('reports a truncated last tuple when the service closes mid-tuple, without handing it over', async () => {
    const s = await start({ faults: { closeMidTuple: { afterTuples: 2 } } });
    const queued = someTuples(4, 5);
    s.queue(queued);
    const { tuples, truncatedBytes } = await pollFeedback(optionsFor(s));
    expect(tuples.map((t) => t.tokenHex)).toEqual(queued.slice(0, 2).map((t) => t.token));
    const third = Buffer.from(queued[2]!.token, 'hex').length + 6;
    expect(truncatedBytes).toBe(Math.floor(third / 2));
  });

  it('fails with PK_ERR_FEEDBACK_TLS for a client certificate the service does not trust', async () => {
    const s = await start();
    s.queue(someTuples(3, 6));
    const stranger = await pki.issueClientCertificate({
      bundleId: 'com.example.app',
      environments: ['production'],
      selfSigned: true,
    });
    let handed = 0;
    const error = await failure(
      readFeedback(
        optionsFor(s, { certificate: { certPem: stranger.certPem, keyPem: stranger.keyPem } }),
        (b) => {
          handed += b.length;
        },
      ),
    );
    expect(error.code).toBe('PK_ERR_FEEDBACK_TLS');
    expect(handed).toBe(0);
    expect(s.pending).toBe(3);
  });

  it("fails with PK_ERR_FEEDBACK_TLS when the service's certificate is not trusted", async () => {
    const s = await start();
    const other = await createTestPki();
    const error = await failure(pollFeedback(optionsFor(s, { ca: other.caCertPem })));
    expect(error.code).toBe('PK_ERR_FEEDBACK_TLS');
    expect(error.details).toMatchObject({ phase: 'tls' });
  });

  it('fails with PK_ERR_FEEDBACK_CONNECT when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(pollFeedback(optionsFor({ host: '127.0.0.1', port })));
    expect(error.code).toBe('PK_ERR_FEEDBACK_CONNECT');
    expect(error.details).toMatchObject({ phase: 'connect', cause: 'ECONNREFUSED' });
  });

  it('fails with PK_ERR_FEEDBACK_CONNECT when the handshake never completes in time', async () => {
    // A TCP server that accepts and says nothing: the TLS handshake hangs.
    extraServer = createServer((socket) => {
      socket.on('error', () => undefined);
      extraSockets.add(socket);
    });
    await new Promise<void>((resolve) => extraServer!.listen(0, '127.0.0.1', resolve));
    const { port } = extraServer.address() as { port: number };
    const error = await failure(
      pollFeedback(optionsFor({ host: '127.0.0.1', port }, { connectTimeoutMs: 200 })),
    );
    expect(error.code).toBe('PK_ERR_FEEDBACK_CONNECT');
    expect(error.details).toMatchObject({ phase: 'tls' });
  });

  it('aborts through the signal with PK_ERR_SHUTTING_DOWN', async () => {
    const s = await start({ faults: { stallMidTuple: true } });
    s.queue(someTuples(1, 8));
    const controller = new AbortController();
    const aborted = failure(readFeedback(optionsFor(s, { signal: controller.signal }), () => undefined));
    while (s.connections.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    expect((await aborted).code).toBe('PK_ERR_SHUTTING_DOWN');
  });

  it('waits for the handler before reading on (backpressure) and hands over every tuple', async () => {
    const s = await start({ chunkSize: 38 });
    const queued = someTuples(40, 9);
    s.queue(queued);
    let inHandler = false;
    let overlapped = false;
    let count = 0;
    await readFeedback(optionsFor(s), async (batch) => {
      if (inHandler) overlapped = true;
      inHandler = true;
      await new Promise((r) => setTimeout(r, 1));
      count += batch.length;
      inHandler = false;
    });
    expect(overlapped).toBe(false);
    expect(count).toBe(40);
  });

  it("rethrows the handler's own error unchanged and stops reading", async () => {
    const s = await start({ chunkSize: 38 });
    s.queue(someTuples(10, 10));
    const storeDown = new Error('store down');
    let calls = 0;
    await expect(
      readFeedback(optionsFor(s), () => {
        calls += 1;
        throw storeDown;
      }),
    ).rejects.toBe(storeDown);
    expect(calls).toBe(1);
  });
});
