/** The frame splitter over arbitrary chunkings of the socket's bytes (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../src/http2/frame-reader.ts';
import { frame, H2Error } from '../../src/http2/frames.ts';

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: number[];
}

const frameArbitrary = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  flags: fc.integer({ min: 0, max: 255 }),
  streamId: fc.integer({ min: 0, max: 0x7fff_ffff }),
  payload: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }),
});

/** `bytes` cut at `cuts` (positions, any order, duplicates allowed). */
function chunks(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) out.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return out;
}

describe('FrameReader', () => {
  it('yields exactly the frames written, in order, however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(frameArbitrary, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (frames: Frame[], cuts) => {
          const bytes = Buffer.concat(
            frames.map((f) => frame(f.type, f.flags, f.streamId, Buffer.from(f.payload))),
          );
          const reader = new FrameReader();
          const seen: Frame[] = [];
          for (const chunk of chunks(bytes, cuts)) {
            reader.push(chunk, (type, flags, streamId, payload) =>
              seen.push({ type, flags, streamId, payload: [...payload] }),
            );
          }
          expect(seen).toEqual(frames);
        },
      ),
    );
  });

  it('stops handing out frames when the session stops reading', () => {
    const bytes = Buffer.concat([
      frame(4, 0, 0, Buffer.alloc(6)),
      frame(6, 0, 0, Buffer.alloc(8)),
      frame(6, 1, 0, Buffer.alloc(8)),
    ]);
    const reader = new FrameReader();
    const types: number[] = [];
    reader.push(
      bytes,
      (type) => types.push(type),
      () => types.length === 2,
    );
    expect(types).toEqual([4, 6]);
  });

  it('refuses a frame above 16,384 octets with FRAME_SIZE_ERROR as soon as its header is read', () => {
    const header = frame(0, 0, 1, Buffer.alloc(0));
    header.writeUIntBE(16_385, 0, 3);
    expect(() => new FrameReader().push(header, () => {})).toThrow(
      expect.objectContaining({ name: 'H2ProtocolError', errorCode: H2Error.FRAME_SIZE_ERROR }),
    );
  });
});
