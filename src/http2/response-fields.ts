/**
 * The checks a client makes on a decoded response header list before it believes it (RFC 9113
 * §8.1.1, §8.2, §8.3.2). A list that fails one is "malformed": the session answers it with a
 * stream error of type PROTOCOL_ERROR and the request fails instead of being read half right.
 *
 * Decoded strings are latin1 (one character per octet, see hpack-decoder.ts), so character codes
 * are the octets the RFC ranges speak of.
 */

/** §8.2.2: connection-specific fields have no place in HTTP/2. */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The response's status when `fields` is a well-formed response header section, or a sentence
 * saying what is wrong with it (a string). `trailers`: a header section after the final answer,
 * which must carry no pseudo-header at all (§8.1).
 */
export function checkResponseFields(fields: readonly string[], trailers: boolean): number | string {
  let status = 0;
  let regularSeen = false;
  for (let index = 0; index < fields.length; index += 2) {
    const name = fields[index]!;
    const value = fields[index + 1]!;
    if (name.length === 0) return 'an empty field name';
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      // §8.3: pseudo-header fields come first; a response has exactly one, :status (§8.3.2).
      if (trailers) return `pseudo-header ${name} in trailers`;
      if (regularSeen) return `pseudo-header ${name} after a regular field`;
      if (name !== ':status') return `pseudo-header ${name} in a response`;
      if (status !== 0) return 'two :status fields';
      status = parseStatus(value);
      if (status === 0) return `:status ${JSON.stringify(value)} is not three digits`;
      continue;
    }
    regularSeen = true;
    const bad = badNameCharacter(name);
    if (bad >= 0) {
      return bad >= 0x41 && bad <= 0x5a
        ? `upper-case field name ${JSON.stringify(name)}`
        : `field name ${JSON.stringify(name)} with octet 0x${bad.toString(16)}`;
    }
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    if (!validValue(value)) return `field ${name} with a value HTTP does not allow`;
  }
  if (!trailers && status === 0) return 'no :status';
  return status;
}

/** §8.2.1: a field name contains no octet in 0x00-0x20, 0x41-0x5a (upper case) or 0x7f-0xff. */
function badNameCharacter(name: string): number {
  for (let index = 0; index < name.length; index += 1) {
    const code = name.charCodeAt(index);
    if (code <= 0x20 || (code >= 0x41 && code <= 0x5a) || code >= 0x7f) return code;
  }
  return -1;
}

/** §8.2.1: no NUL, CR or LF anywhere, no space or tab at either end. */
function validValue(value: string): boolean {
  const last = value.length - 1;
  if (last < 0) return true;
  const first = value.charCodeAt(0);
  const end = value.charCodeAt(last);
  if (first === 0x20 || first === 0x09 || end === 0x20 || end === 0x09) return false;
  for (let index = 0; index <= last; index += 1) {
    const code = value.charCodeAt(index);
    if (code === 0x00 || code === 0x0a || code === 0x0d) return false;
  }
  return true;
}

/** §8.3.2 and RFC 9110 §15: three ASCII digits, 100-999; 0 when not. */
function parseStatus(value: string): number {
  if (value.length !== 3) return 0;
  let status = 0;
  for (let index = 0; index < 3; index += 1) {
    const digit = value.charCodeAt(index) - 0x30;
    if (digit < 0 || digit > 9) return 0;
    status = status * 10 + digit;
  }
  return status >= 100 ? status : 0;
}
