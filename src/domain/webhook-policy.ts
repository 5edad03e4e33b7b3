/**
 * Where a webhook may be sent (docs/webhooks.md). The URL is chosen by whoever manages the app, and
 * the request is made by our server from inside its network, so an unrestricted URL turns the
 * webhook into a way to reach what only the server can: a database's HTTP port on loopback, a
 * cloud's metadata service on 169.254.169.254, an admin page on 10.0.0.1 (server-side request
 * forgery). The rules:
 * - `https:` only, and no user:password in the URL (it would be logged and stored in clear);
 * - the address must be public: loopback, private (RFC 1918, RFC 6598), link-local (RFC 3927,
 *   RFC 4291 §2.5.6), unique-local (RFC 4193) are refused unless the operator allows private
 *   targets, and then plain `http:` is allowed too, to private addresses only;
 * - unspecified, multicast, broadcast and documentation/benchmark ranges are never a receiver.
 * The URL's literal address is checked when the webhook is saved; every address a name resolves to
 * is checked again when a delivery connects (service/webhook.ts), so a name that later resolves
 * somewhere private (DNS rebinding) is refused at the moment it matters.
 */
import { fail, ok, problem, type Result } from './result.ts';

/** A secret shorter than the MAC's own 32 bytes weakens it (RFC 2104 §3). */
export const WEBHOOK_SECRET_MIN_BYTES = 32;

export interface WebhookPolicy {
  /** PUSHKEEPER_WEBHOOK_ALLOW_PRIVATE: private, loopback and link-local targets, and http to them. */
  readonly allowPrivate: boolean;
}

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

/** Allowed when the operator allows private targets. */
const PRIVATE_CLASSES: ReadonlySet<AddressClass> = new Set([
  'loopback',
  'private',
  'link-local',
  'unique-local',
]);

function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : Number.NaN));
  return bytes.every((byte) => byte >= 0 && byte <= 255) ? bytes : null;
}

function classifyIpv4(bytes: readonly number[]): AddressClass {
  const [x = 0, y = 0, z = 0] = bytes;
  if (x === 0) return 'unspecified'; // 0.0.0.0/8 "this network": connecting to it reaches the host itself
  if (x === 127) return 'loopback';
  if (x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168)) return 'private'; // RFC 1918
  if (x === 100 && y >= 64 && y <= 127) return 'private'; // RFC 6598 shared address space (carrier NAT)
  if (x === 169 && y === 254) return 'link-local'; // RFC 3927; cloud metadata services live here
  if (x >= 224 && x <= 239) return 'multicast';
  if (x >= 240) return 'reserved'; // includes 255.255.255.255
  if (x === 192 && y === 0 && (z === 0 || z === 2)) return 'reserved'; // IETF assignments, TEST-NET-1
  if ((x === 198 && (y === 18 || y === 19)) || (x === 198 && y === 51 && z === 100)) return 'reserved';
  if (x === 203 && y === 0 && z === 113) return 'reserved'; // TEST-NET-3 (RFC 5737)
  return 'public';
}

/** Eight 16-bit groups, or null. Accepts `::` compression and a trailing dotted IPv4. */
function parseIpv6(text: string): number[] | null {
  let input = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  const lastColon = input.lastIndexOf(':');
  if (input.includes('.', lastColon)) {
    const v4 = parseIpv4(input.slice(lastColon + 1));
    if (v4 === null) return null;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    input = `${input.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = input.split('::');
  if (halves.length > 2) return null;
  const parse = (half: string) =>
    half === ''
      ? []
      : half
          .split(':')
          .map((group) => (/^[0-9a-fA-F]{1,4}$/.test(group) ? Number.parseInt(group, 16) : Number.NaN));
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if ([...head, ...tail].some(Number.isNaN)) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  return [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
}

function classifyIpv6(g: number[]): AddressClass {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const embeddedV4 = () => classifyIpv4([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]);
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0) {
    if (g5 === 0xffff) return embeddedV4(); // ::ffff:a.b.c.d, IPv4-mapped (RFC 4291 §2.5.5.2)
    if (g5 === 0 && g6 === 0 && g7 === 0) return 'unspecified';
    if (g5 === 0 && g6 === 0 && g7 === 1) return 'loopback';
    if (g5 === 0) return embeddedV4(); // ::a.b.c.d, the deprecated IPv4-compatible form
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return embeddedV4(); // NAT64 (RFC 6052)
  if (g0 === 0x2002) return classifyIpv4([g1 >> 8, g1 & 0xff, g2 >> 8, g2 & 0xff]); // 6to4 (RFC 3056)
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xffc0) === 0xfec0) return 'private'; // deprecated site-local
  if ((g0 & 0xfe00) === 0xfc00) return 'unique-local';
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'reserved'; // documentation (RFC 3849)
  return 'public';
}

/** The class of an IP address in text form, or null when `text` is not an IP address. */
export function classifyAddress(text: string): AddressClass | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v4 = parseIpv4(bare);
  if (v4 !== null) return classifyIpv4(v4);
  if (!bare.includes(':')) return null;
  const v6 = parseIpv6(bare);
  return v6 === null ? null : classifyIpv6(v6);
}

function refused(message: string, reason: string, details?: Record<string, unknown>) {
  return fail(problem('PK_ERR_WEBHOOK_URL_REFUSED', message, reason, details));
}

/** May a delivery over `protocol` connect to `address` (a resolved or literal IP)? */
export function checkWebhookAddress(
  address: string,
  protocol: 'https:' | 'http:',
  policy: WebhookPolicy,
): Result<void> {
  const kind = classifyAddress(address);
  if (kind === null) return refused('The webhook host did not resolve to an IP address.', 'not-an-address');
  if (kind === 'public') {
    return protocol === 'https:'
      ? ok(undefined)
      : refused('Plain http:// is allowed only to private addresses; use https://.', 'plain-http-to-public');
  }
  if (PRIVATE_CLASSES.has(kind) && policy.allowPrivate) return ok(undefined);
  return refused(
    PRIVATE_CLASSES.has(kind)
      ? `The webhook address is ${kind}; set PUSHKEEPER_WEBHOOK_ALLOW_PRIVATE to allow receivers inside your network.`
      : `The webhook address is ${kind}: nothing can receive webhooks there.`,
    `${kind}-address`,
    { addressClass: kind },
  );
}

export interface WebhookTarget {
  readonly url: URL;
  readonly protocol: 'https:' | 'http:';
  /** The literal IP of the URL, or null when it names a host to resolve at delivery time. */
  readonly literalAddress: string | null;
}

/** The URL rules that need no DNS: scheme, credentials, and a literal or `localhost` address. */
export function checkWebhookUrl(text: string, policy: WebhookPolicy): Result<WebhookTarget> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(problem('PK_ERR_WEBHOOK_INVALID', 'The webhook url is not a URL.', 'url'));
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return refused('The webhook url must be https://.', 'scheme');
  }
  if (url.protocol === 'http:' && !policy.allowPrivate) {
    return refused(
      'The webhook url must be https:// (plain http is allowed only to private receivers, with PUSHKEEPER_WEBHOOK_ALLOW_PRIVATE).',
      'scheme',
    );
  }
  if (url.username !== '' || url.password !== '') {
    return refused(
      'Put no user or password in the webhook url: the signature authenticates deliveries.',
      'credentials-in-url',
    );
  }
  // WHATWG URL parsing has already normalised 0x7f.1, 2130706433 and friends to dotted form.
  const host = url.hostname;
  const literal = classifyAddress(host) === null ? null : host.replace(/^\[|\]$/g, '');
  const protocol = url.protocol;
  if (literal !== null) {
    const allowed = checkWebhookAddress(literal, protocol, policy);
    if (!allowed.ok) return allowed;
  } else if (/(^|\.)localhost\.?$/i.test(host)) {
    // RFC 6761 §6.3: localhost names resolve to loopback, whatever a resolver says.
    const allowed = checkWebhookAddress('127.0.0.1', protocol, policy);
    if (!allowed.ok) return allowed;
  }
  return ok({ url, protocol, literalAddress: literal });
}

/** Save-time check of a webhook's settings: its URL (above) and the secret's length in bytes. */
export function checkWebhookSettings(
  webhook: { readonly url: string; readonly secret: string },
  policy: WebhookPolicy,
): Result<void> {
  const target = checkWebhookUrl(webhook.url, policy);
  if (!target.ok) return target;
  const bytes = Buffer.byteLength(webhook.secret, 'utf8');
  if (bytes < WEBHOOK_SECRET_MIN_BYTES) {
    return fail(
      problem(
        'PK_ERR_WEBHOOK_SECRET_TOO_SHORT',
        `The webhook secret must be at least ${WEBHOOK_SECRET_MIN_BYTES} bytes (e.g. \`openssl rand -hex 32\`).`,
        'too-short',
        { minBytes: WEBHOOK_SECRET_MIN_BYTES, bytes },
      ),
    );
  }
  return ok(undefined);
}
