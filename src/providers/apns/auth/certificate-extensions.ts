/**
 * Reads the X.509 v3 extensions of a DER certificate: just enough DER (X.690) to find Apple's
 * push-certificate extensions, which node:crypto's X509Certificate does not expose.
 */

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

function readTlv(der: Buffer, offset: number): Tlv {
  if (offset + 2 > der.length) throw new RangeError('DER: truncated header');
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > der.length) throw new RangeError('DER: bad length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  const end = start + length;
  if (end > der.length) throw new RangeError('DER: value beyond the end');
  return { tag, start, end };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let offset = parent.start;
  while (offset < parent.end) {
    const child = readTlv(der, offset);
    out.push(child);
    offset = child.end;
  }
  return out;
}

function decodeOid(bytes: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

/** Extension OID → the DER bytes inside its OCTET STRING. Throws RangeError on malformed DER. */
export function readExtensions(certificateDer: Buffer): Map<string, Buffer> {
  const certificate = readTlv(certificateDer, 0);
  const tbs = children(certificateDer, certificate)[0];
  if (tbs === undefined) throw new RangeError('DER: no TBSCertificate');
  const out = new Map<string, Buffer>();
  // Extensions are the [3] EXPLICIT field (tag 0xa3) of TBSCertificate (RFC 5280 §4.1).
  const wrapper = children(certificateDer, tbs).find((field) => field.tag === 0xa3);
  if (wrapper === undefined) return out;
  const list = children(certificateDer, wrapper)[0];
  if (list === undefined) return out;
  for (const extension of children(certificateDer, list)) {
    const parts = children(certificateDer, extension);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (oid?.tag !== 0x06 || value?.tag !== 0x04) continue;
    out.set(decodeOid(certificateDer.subarray(oid.start, oid.end)), certificateDer.subarray(value.start, value.end));
  }
  return out;
}

/** Every UTF8String / PrintableString / IA5String nested anywhere in a DER value. */
export function readStrings(der: Buffer): string[] {
  const out: string[] = [];
  const walk = (start: number, end: number): void => {
    let offset = start;
    while (offset < end) {
      const tlv = readTlv(der, offset);
      if (tlv.tag === 0x0c || tlv.tag === 0x13 || tlv.tag === 0x16) {
        out.push(der.subarray(tlv.start, tlv.end).toString('utf8'));
      } else if (tlv.tag & 0x20) {
        walk(tlv.start, tlv.end);
      }
      offset = tlv.end;
    }
  };
  walk(0, der.length);
  return out;
}
