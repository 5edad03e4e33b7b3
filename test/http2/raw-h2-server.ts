/**
 * A TLS server that speaks HTTP/2 by hand, for what nghttp2 never does: frames in the wrong order,
 * SETTINGS held back. `onClientData` sees every chunk the client writes, on that client's socket.
 */
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { FrameReader } from '../../src/http2/frame-reader.ts';
import type { TestPki } from '../../src/testing/index.ts';

export interface RawH2Server {
  readonly origin: string;
  /** Everything every client wrote, in order. */
  readonly received: Buffer[];
  close(): Promise<void>;
}

export async function startRawH2Server(
  pki: TestPki,
  onClientData: (socket: tls.TLSSocket, chunk: Buffer, first: boolean) => void,
  alpn: string[] = ['h2'],
): Promise<RawH2Server> {
  const received: Buffer[] = [];
  const sockets: tls.TLSSocket[] = [];
  const server = tls.createServer(
    { key: pki.serverKeyPem, cert: pki.serverCertPem, ...(alpn.length === 0 ? {} : { ALPNProtocols: alpn }) },
    (socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      let first = true;
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        onClientData(socket, chunk, first);
        first = false;
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://localhost:${port}`,
    received,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every frame the client wrote after its connection preface, in order. */
export function clientFrames(received: readonly Buffer[]): { type: number; payload: Buffer }[] {
  const frames: { type: number; payload: Buffer }[] = [];
  const preface = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
  new FrameReader().push(Buffer.concat(received).subarray(preface), (type, _flags, _streamId, payload) =>
    frames.push({ type, payload: Buffer.from(payload) }),
  );
  return frames;
}

export interface ClientFrame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/**
 * A raw server that reacts to the client's frames: `onFrame` sees each one (the preface stripped)
 * with the socket to answer on; `onPreface` runs when the preface arrives (write SETTINGS there).
 */
export function startScriptedH2Server(
  pki: TestPki,
  script: {
    onPreface?: (socket: tls.TLSSocket) => void;
    onFrame: (socket: tls.TLSSocket, frame: ClientFrame) => void;
  },
): Promise<RawH2Server> {
  const states = new WeakMap<tls.TLSSocket, { reader: FrameReader; preface: number }>();
  return startRawH2Server(pki, (socket, chunk) => {
    let state = states.get(socket);
    if (state === undefined) {
      state = { reader: new FrameReader(), preface: 24 };
      states.set(socket, state);
    }
    let rest = chunk;
    if (state.preface > 0) {
      const skip = Math.min(state.preface, rest.length);
      state.preface -= skip;
      rest = rest.subarray(skip);
      if (state.preface === 0) script.onPreface?.(socket);
    }
    if (rest.length === 0 || socket.destroyed) return;
    try {
      state.reader.push(rest, (type, flags, streamId, payload) =>
        script.onFrame(socket, { type, flags, streamId, payload: Buffer.from(payload) }),
      );
    } catch {
      socket.destroy();
    }
  });
}
