/**
 * Streaming decoder for the legacy APNs feedback service's binary list (Apple's archived
 * "Local and Remote Notification Programming Guide", "The Feedback Service").
 *
 * The service sends, and then closes, a sequence of big-endian tuples:
 *
 *   u32 time the push last failed (seconds since 1970-01-01 UTC, unsigned)
 *   u16 token length (32 in practice; Apple says not to assume a size)
 *   u8[token length] the device token
 *
 * Bytes arrive in arbitrary pieces. A tuple split at any byte boundary waits for the rest: unlike
 * PushSharp's `ApnsFeedbackService.Check` (Redth/PushSharp, PushSharp.Apple/ApnsFeedbackService.cs), which spins forever when it holds
 * 38 or more bytes but fewer than 6 + length, this decoder stops as soon as the next tuple is not
 * complete and returns to its caller for more data. Memory is bounded: whole chunks are decoded in
 * place and only the one incomplete tuple at the end of a chunk is copied, at most 6 + 65535 bytes.
 *
 * Token bytes are rendered as lower-case hex whatever their length (0 to 65535 bytes); whether a
 * token is a valid APNs token is decided later (parseDeviceToken in the poll), so a strange entry
 * is counted and reported instead of throwing here. The decoder never throws on any input.
 */

export interface FeedbackTuple {
  /** When APNs last failed to deliver to the token, from the tuple's unsigned UTC seconds. */
  readonly failedAt: Date;
  /** The token's bytes as lower-case hex (not yet validated as an APNs token). */
  readonly tokenHex: string;
  /** The token length in bytes, as declared by the tuple. */
  readonly tokenLength: number;
}

export interface FeedbackDecoderFinish {
  /** Bytes of an incomplete last tuple; 0 when the stream ended on a tuple boundary. */
  readonly remainderBytes: number;
}

/** 4 bytes of time and 2 bytes of token length. */
export const FEEDBACK_TUPLE_HEADER_BYTES = 6;
/** The largest tuple the format can express: a 65535-byte token. */
export const FEEDBACK_MAX_TUPLE_BYTES = FEEDBACK_TUPLE_HEADER_BYTES + 0xffff;

/** Scratch capacity kept between tuples: fits tokens up to 250 bytes without allocating. */
const SCRATCH_BYTES = 256;

export class FeedbackDecoder {
  /**
   * The incomplete tuple carried to the next chunk, in a reused scratch buffer that grows to the
   * tuple's size when needed (never beyond FEEDBACK_MAX_TUPLE_BYTES) and shrinks back after.
   */
  #partial: Buffer = Buffer.allocUnsafe(SCRATCH_BYTES);
  #partialLength = 0;
  /** Full size of the carried tuple once its header is known, otherwise 0. */
  #partialTupleBytes = 0;

  /** Bytes held back because the tuple they start is not complete yet. */
  get bufferedBytes(): number {
    return this.#partialLength;
  }

  /** Decodes every tuple completed by `chunk`; keeps an incomplete last tuple for the next call. */
  push(chunk: Uint8Array): FeedbackTuple[] {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const tuples: FeedbackTuple[] = [];
    let offset = 0;
    if (this.#partialLength > 0) {
      offset = this.#completePartial(bytes, tuples);
      if (this.#partialLength > 0) return tuples;
    }
    const end = bytes.length;
    // The hot loop: read headers in place, render each token straight from the chunk.
    while (end - offset >= FEEDBACK_TUPLE_HEADER_BYTES) {
      const tokenLength = bytes.readUInt16BE(offset + 4);
      const tupleEnd = offset + FEEDBACK_TUPLE_HEADER_BYTES + tokenLength;
      if (tupleEnd > end) break; // wait for the rest (the PushSharp loop `continue`d here)
      tuples.push({
        failedAt: new Date(bytes.readUInt32BE(offset) * 1000),
        tokenHex: bytes.toString('hex', offset + FEEDBACK_TUPLE_HEADER_BYTES, tupleEnd),
        tokenLength,
      });
      offset = tupleEnd;
    }
    if (offset < end) this.#startPartial(bytes, offset);
    return tuples;
  }

  /**
   * The stream has ended: reports how many bytes of an incomplete last tuple were dropped (the poll
   * reports them and never applies them) and resets the decoder for reuse.
   */
  finish(): FeedbackDecoderFinish {
    const remainderBytes = this.#partialLength;
    this.#reset();
    return { remainderBytes };
  }

  #reset(): void {
    if (this.#partial.length > SCRATCH_BYTES) this.#partial = Buffer.allocUnsafe(SCRATCH_BYTES);
    this.#partialLength = 0;
    this.#partialTupleBytes = 0;
  }

  /** Makes room for a whole tuple of `tupleBytes`, keeping what is already carried. */
  #reserve(tupleBytes: number): void {
    this.#partialTupleBytes = tupleBytes;
    if (tupleBytes <= this.#partial.length) return;
    const larger = Buffer.allocUnsafe(tupleBytes);
    this.#partial.copy(larger, 0, 0, this.#partialLength);
    this.#partial = larger;
  }

  /** Copies the tail of a chunk (a copy, so the chunk itself is not retained). */
  #startPartial(bytes: Buffer, offset: number): void {
    const available = bytes.length - offset;
    if (available >= FEEDBACK_TUPLE_HEADER_BYTES) {
      this.#reserve(FEEDBACK_TUPLE_HEADER_BYTES + bytes.readUInt16BE(offset + 4));
    }
    bytes.copy(this.#partial, 0, offset, bytes.length);
    this.#partialLength = available;
  }

  /** Feeds the carried tuple from the front of `bytes`; returns how many bytes it took. */
  #completePartial(bytes: Buffer, tuples: FeedbackTuple[]): number {
    let offset = 0;
    if (this.#partialTupleBytes === 0) {
      const headerTake = Math.min(FEEDBACK_TUPLE_HEADER_BYTES - this.#partialLength, bytes.length);
      bytes.copy(this.#partial, this.#partialLength, 0, headerTake);
      this.#partialLength += headerTake;
      offset = headerTake;
      if (this.#partialLength < FEEDBACK_TUPLE_HEADER_BYTES) return offset;
      this.#reserve(FEEDBACK_TUPLE_HEADER_BYTES + this.#partial.readUInt16BE(4));
    }
    const take = Math.min(this.#partialTupleBytes - this.#partialLength, bytes.length - offset);
    bytes.copy(this.#partial, this.#partialLength, offset, offset + take);
    this.#partialLength += take;
    offset += take;
    if (this.#partialLength === this.#partialTupleBytes) {
      const tuple = this.#partial;
      tuples.push({
        failedAt: new Date(tuple.readUInt32BE(0) * 1000),
        tokenHex: tuple.toString('hex', FEEDBACK_TUPLE_HEADER_BYTES, this.#partialTupleBytes),
        tokenLength: this.#partialTupleBytes - FEEDBACK_TUPLE_HEADER_BYTES,
      });
      this.#reset();
    }
    return offset;
  }
}
