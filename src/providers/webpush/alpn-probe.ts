/**
 * Which HTTP version a push service speaks: one TLS handshake offering `h2, http/1.1` (RFC 7301),
 * once per origin. FCM answers h2; autopush and WNS document HTTP/1.1 only; Apple speaks both
 * ("HTTP/1.1 by default, HTTP/2 via ALPN"). The probe's connection is closed and the chosen transport
 * opens its own (our HTTP/2 session owns its socket from the first byte).
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import { TransportFailure } from './transport.ts';

export async function probeAlpn(
  origin: string,
  options: tls.ConnectionOptions | undefined,
  timeoutMs: number,
): Promise<'h2' | 'http/1.1'> {
  const url = new URL(origin);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      ...options,
      host,
      port: url.port === '' ? 443 : Number(url.port),
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TransportFailure(
          'PK_ERR_WEBPUSH_CONNECTION',
          `No TLS handshake with ${origin} within ${timeoutMs} ms.`,
          false,
        ),
      );
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const protocol = socket.alpnProtocol === 'h2' ? 'h2' : 'http/1.1';
      socket.end();
      socket.destroy();
      resolve(protocol);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new TransportFailure(
          'PK_ERR_WEBPUSH_CONNECTION',
          `Could not connect to ${origin}: ${error.message}`,
          false,
          { cause: error },
        ),
      );
    });
  });
}
