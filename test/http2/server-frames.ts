/** Frames a hand-written server writes, built byte by byte so a test can break any rule it likes. */
import { FrameType, frame } from '../../src/http2/frames.ts';

/** HPACK (RFC 7541 §6.2.2) literal field without indexing, new name: lengths below 127 only. */
export function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

/** `:status` as a literal with the static table's name (index 8, RFC 7541 §6.2.2). */
export function status(code: number): Buffer {
  return Buffer.concat([Buffer.from([0x08, 3]), Buffer.from(String(code), 'latin1')]);
}

export function headers(streamId: number, flags: number, ...fields: Buffer[]): Buffer {
  return frame(FrameType.HEADERS, flags, streamId, Buffer.concat(fields));
}

export function data(streamId: number, length: number, flags = 0): Buffer {
  return frame(FrameType.DATA, flags, streamId, Buffer.alloc(length, 0x61));
}
