/**
 * Raw HTTP/1.1 over a TCP socket, for what an HTTP client library will not send: paths as-is,
 * lying Content-Length headers, broken encodings, a client that stops mid-body.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RawExchange {
  /** Every complete response the server wrote before it closed the connection. */
  readonly responses: readonly RawResponse[];
  /** Bytes after the last complete response (should be none). */
  readonly trailing: string;
}

/** Splits a byte stream of HTTP/1.1 responses (Content-Length framed, as Fastify answers). */
export function parseResponses(raw: Buffer): RawExchange {
  const responses: RawResponse[] = [];
  let offset = 0;
  while (offset < raw.length) {
    const headerEnd = raw.indexOf('\r\n\r\n', offset);
    if (headerEnd === -1) break;
    const [statusLine = '', ...lines] = raw.subarray(offset, headerEnd).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const bodyStart = headerEnd + 4;
    if (bodyStart + length > raw.length) break;
    responses.push({
      status: Number(statusLine.split(' ')[1]),
      headers,
      body: raw.subarray(bodyStart, bodyStart + length).toString('utf8'),
    });
    offset = bodyStart + length;
  }
  return { responses, trailing: raw.subarray(offset).toString('latin1') };
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Writes `request` and collects everything the server sends until it closes the connection, or
 * until `deadlineMs` passes (then the socket is destroyed and `closedByServer` is false).
 */
export async function exchange(
  port: number,
  request: string | Buffer,
  deadlineMs = 10_000,
): Promise<RawExchange & { readonly closedByServer: boolean }> {
  const socket = await openSocket(port);
  return collectUntilClose(socket, deadlineMs, () => socket.write(request));
}

export function collectUntilClose(
  socket: Socket,
  deadlineMs: number,
  start: () => void,
): Promise<RawExchange & { readonly closedByServer: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByServer = true;
    const deadline = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, deadlineMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(deadline);
      resolve({ ...parseResponses(Buffer.concat(chunks)), closedByServer });
    });
    start();
  });
}
