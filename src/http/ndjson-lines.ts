/**
 * Splits a byte stream into NDJSON lines incrementally: at most one line (bounded by `maxLineBytes`)
 * is held at a time, so a million-line import never sits in memory. Chunks may split lines and
 * multi-byte characters anywhere.
 */
export type NdjsonLine =
  | { readonly kind: 'line'; readonly number: number; readonly text: string }
  | { readonly kind: 'too-long'; readonly number: number };

export async function* ndjsonLines(
  source: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
): AsyncGenerator<NdjsonLine> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let pending = '';
  let overflowing = false;
  let number = 0;
  for await (const chunk of source) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let newline = text.indexOf('\n', start); newline !== -1; newline = text.indexOf('\n', start)) {
      number += 1;
      const piece = text.slice(start, newline);
      start = newline + 1;
      if (overflowing || Buffer.byteLength(pending) + Buffer.byteLength(piece) > maxLineBytes) {
        yield { kind: 'too-long', number };
      } else {
        yield { kind: 'line', number, text: pending + piece };
      }
      pending = '';
      overflowing = false;
    }
    if (!overflowing) {
      pending += text.slice(start);
      if (Buffer.byteLength(pending) > maxLineBytes) {
        overflowing = true;
        pending = '';
      }
    }
  }
  pending += decoder.decode();
  if (overflowing) yield { kind: 'too-long', number: number + 1 };
  else if (pending.trim() !== '') yield { kind: 'line', number: number + 1, text: pending };
}
