/**
 * Splits a byte stream into NDJSON lines incrementally: at most one line (bounded by `maxLineBytes`)
 * is held at a time, so a million-line import never sits in memory. Chunks may split lines and
 * multi-byte characters anywhere: lines are cut on the byte 0x0A, which UTF-8 never uses inside a
 * multi-byte character (RFC 3629 §3), and each line is then decoded strictly, so a line that is not
 * UTF-8 is reported as such instead of reaching the store with U+FFFD in it.
 */
export type NdjsonLine =
  | { readonly kind: 'line'; readonly number: number; readonly text: string }
  | { readonly kind: 'too-long'; readonly number: number }
  | { readonly kind: 'invalid-utf8'; readonly number: number };

const NEWLINE = 0x0a;

export async function* ndjsonLines(
  source: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
): AsyncGenerator<NdjsonLine> {
  // Without `stream`, every decode() call is independent: a failed line leaves no state behind.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decodeLine = (number: number, bytes: Uint8Array): NdjsonLine => {
    try {
      return { kind: 'line', number, text: decoder.decode(bytes) };
    } catch {
      return { kind: 'invalid-utf8', number };
    }
  };
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overflowing = false;
  let number = 0;
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (let newline = bytes.indexOf(NEWLINE, start); newline !== -1; newline = bytes.indexOf(NEWLINE, start)) {
      number += 1;
      const piece = bytes.subarray(start, newline);
      start = newline + 1;
      if (overflowing || pendingBytes + piece.length > maxLineBytes) {
        yield { kind: 'too-long', number };
      } else {
        yield decodeLine(number, pending.length === 0 ? piece : Buffer.concat([...pending, piece]));
      }
      pending = [];
      pendingBytes = 0;
      overflowing = false;
    }
    if (!overflowing && start < bytes.length) {
      const rest = bytes.subarray(start);
      if (pendingBytes + rest.length > maxLineBytes) {
        overflowing = true;
        pending = [];
        pendingBytes = 0;
      } else {
        pending.push(rest);
        pendingBytes += rest.length;
      }
    }
  }
  if (overflowing) {
    yield { kind: 'too-long', number: number + 1 };
    return;
  }
  if (pendingBytes === 0) return;
  const last = decodeLine(number + 1, Buffer.concat(pending));
  if (last.kind !== 'line' || last.text.trim() !== '') yield last;
}
