/**
 * A header block that cannot be decoded. RFC 9113 §4.3 makes every such failure a connection
 * error of type COMPRESSION_ERROR: the decoder's table can no longer be trusted, so the session
 * that catches this closes the connection. `reason` is for tests and logs; the message is prose.
 */
export type HpackErrorReason =
  /** The block ends inside a representation, an integer or a string literal. */
  | 'truncated'
  /** An integer above 2^31 - 1, or encoded with more continuation octets than that needs (§5.1). */
  | 'integer-overflow'
  /** Index 0, or an index past the end of the static and dynamic tables (§2.3.3, §6.1). */
  | 'index-invalid'
  /** A Huffman-coded string contains the EOS symbol (§5.2). */
  | 'huffman-eos'
  /** A Huffman-coded string ends in padding longer than 7 bits or not all ones (§5.2). */
  | 'huffman-padding'
  /** A dynamic table size update above the size we advertised (§6.3). */
  | 'table-size-too-large'
  /** A dynamic table size update after the first field of a block (§4.2). */
  | 'table-size-update-misplaced'
  /** The decoded list exceeds our header list limit (name + value + 32 per field, §4.1). */
  | 'header-list-too-large';

export class HpackError extends Error {
  readonly reason: HpackErrorReason;

  constructor(reason: HpackErrorReason, message: string) {
    super(message);
    this.name = 'HpackError';
    this.reason = reason;
  }
}
