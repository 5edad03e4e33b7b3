/**
 * Just enough ASN.1 DER (ITU-T X.690) to build and read the X.509 certificates of the test PKI:
 * @peculiar/x509 needs a global Reflect-metadata polyfill (tsyringe), which a test helper must not
 * install into its users' processes, so we encode the few structures ourselves.
 */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag, ...lengthBytes(body.length)]), body]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(TAG.sequence, ...items);
export const set = (...items: Uint8Array[]): Buffer => tlv(TAG.set, ...items);
export const utf8 = (text: string): Buffer => tlv(TAG.utf8String, Buffer.from(text, 'utf8'));
export const octets = (bytes: Uint8Array): Buffer => tlv(TAG.octetString, bytes);
export const boolean = (value: boolean): Buffer => tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00]));
export const asnNull = (): Buffer => Buffer.from([TAG.null, 0x00]);
/** Context-specific constructed tag [n] (EXPLICIT). */
export const explicit = (n: number, ...items: Uint8Array[]): Buffer => tlv(0xa0 | n, ...items);

/** A non-negative INTEGER from big-endian bytes. */
export function integer(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = Buffer.from(bytes.subarray(start));
  return tlv(TAG.integer, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function smallInteger(value: number): Buffer {
  return integer(Buffer.from([value >> 24, value >> 16, value >> 8, value].map((b) => b & 0xff)));
}

export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  return tlv(TAG.bitString, Buffer.from([unusedBits]), bytes);
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    out.push(...chunk);
  }
  return tlv(TAG.oid, Buffer.from(out));
}

/** UTCTime before 2050, GeneralizedTime after, as RFC 5280 §4.1.2.5 requires. */
export function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const year = date.getUTCFullYear();
  if (year < 2050) return tlv(TAG.utcTime, Buffer.from(`${iso.slice(2)}Z`, 'ascii'));
  return tlv(TAG.generalizedTime, Buffer.from(`${iso}Z`, 'ascii'));
}

export interface DerNode {
  readonly tag: number;
  /** Content bytes. */
  readonly value: Buffer;
  /** The whole element, header included. */
  readonly raw: Buffer;
}

/** Reads one element at `offset`. */
export function readNode(der: Buffer, offset = 0): DerNode {
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > der.length) throw new RangeError('Truncated DER element');
  return { tag, value: der.subarray(start, end), raw: der.subarray(offset, end) };
}

/** The children of a constructed element. */
export function children(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  for (let at = 0; at < node.value.length; ) {
    const child = readNode(node.value, at);
    out.push(child);
    at += child.raw.length;
  }
  return out;
}
