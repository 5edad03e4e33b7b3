/**
 * Cuts the socket's byte stream into HTTP/2 frames (RFC 9113 §4.1), whatever the chunking: a frame
 * split over several reads waits for its last byte, several frames in one read come out one by one.
 * Payloads are views into the chunk (copy what outlives the callback).
 */
import {
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_LENGTH,
  H2Error,
  H2ProtocolError,
  MAX_STREAM_ID,
} from './frames.ts';

export type FrameHandler = (type: number, flags: number, streamId: number, payload: Buffer) => void;

export class FrameReader {
  /** The start of a frame whose end has not arrived yet. */
  #leftover: Buffer | undefined;

  /**
   * Hands every whole frame of `chunk` (after what was left over) to `onFrame`, in order, until
   * `stop()` says the session stopped reading. Throws H2ProtocolError(FRAME_SIZE_ERROR) for a frame
   * larger than we allow: we never raise SETTINGS_MAX_FRAME_SIZE above its default (§4.2).
   */
  push(chunk: Buffer, onFrame: FrameHandler, stop: () => boolean = () => false): void {
    let buffer = chunk;
    if (this.#leftover !== undefined) {
      buffer = Buffer.concat([this.#leftover, chunk]);
      this.#leftover = undefined;
    }
    let offset = 0;
    while (buffer.length - offset >= FRAME_HEADER_LENGTH) {
      const length = (buffer[offset]! << 16) | (buffer[offset + 1]! << 8) | buffer[offset + 2]!;
      if (length > DEFAULT_MAX_FRAME_SIZE) {
        throw new H2ProtocolError(H2Error.FRAME_SIZE_ERROR, `A frame of ${length} octets exceeds 16,384.`);
      }
      if (buffer.length - offset < FRAME_HEADER_LENGTH + length) break;
      const type = buffer[offset + 3]!;
      const flags = buffer[offset + 4]!;
      const streamId = buffer.readUInt32BE(offset + 5) & MAX_STREAM_ID;
      const payload = buffer.subarray(offset + FRAME_HEADER_LENGTH, offset + FRAME_HEADER_LENGTH + length);
      offset += FRAME_HEADER_LENGTH + length;
      onFrame(type, flags, streamId, payload);
      if (stop()) return;
    }
    if (offset < buffer.length) this.#leftover = Buffer.from(buffer.subarray(offset));
  }
}
