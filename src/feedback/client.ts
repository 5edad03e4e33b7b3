/**
 * The legacy feedback service client: one TLS connection with the app's provider certificate,
 * read until the service closes it (Apple's archived "The Feedback Service": APNs sends the
 * list and closes the connection; there is no request to send).
 *
 * Tuples are handed to the caller batch by batch as they are decoded, so a long list is applied
 * with bounded memory, and whatever arrived completely before a failure has already been handed
 * over — the service clears its list once read, so dropping those would lose them for good. A
 * truncated last tuple is reported in bytes and never handed over.
 *
 * Failures are PushkeeperErrors: PK_ERR_FEEDBACK_CONNECT (TCP, or a connect timeout),
 * PK_ERR_FEEDBACK_TLS (handshake, including a client certificate the service refuses, which TLS 1.3
 * reports only after the handshake looked finished), PK_ERR_FEEDBACK_TIMEOUT (the service went
 * silent for idleTimeoutMs), PK_ERR_CREDENTIALS_INVALID (certificate or key unusable locally).
 * Their details carry `tuplesRead` and `truncatedBytes` so far.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import { type ErrorCode, PushkeeperError, isPushkeeperError } from '../errors.ts';
import { FeedbackDecoder, type FeedbackTuple } from './decoder.ts';

/** Apple's documented hosts, retired in 2021 with the binary interface; compatible gateways remain. */
export const APPLE_FEEDBACK_ENDPOINTS = {
  production: { host: 'feedback.push.apple.com', port: 2196 },
  sandbox: { host: 'feedback.sandbox.push.apple.com', port: 2196 },
} as const;

export const DEFAULT_FEEDBACK_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_FEEDBACK_IDLE_TIMEOUT_MS = 30_000;

/** The same provider certificate as for the gateway (mutual TLS), as PEM or PKCS#12. */
export type FeedbackClientCertificate =
  | { readonly certPem: string; readonly keyPem: string; readonly passphrase?: string | undefined }
  | { readonly pfx: Uint8Array; readonly passphrase?: string | undefined };

export interface FeedbackConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly certificate: FeedbackClientCertificate;
  /** Trust only this CA for the service's certificate (a mock or a gateway); default: system CAs. */
  readonly ca?: string | undefined;
  /** SNI and certificate name; default: `host` unless it is an IP address. */
  readonly servername?: string | undefined;
  /** Budget for TCP connect plus TLS handshake. */
  readonly connectTimeoutMs?: number | undefined;
  /** Longest silence while reading before giving up. */
  readonly idleTimeoutMs?: number | undefined;
  /** Aborts the connection (e.g. on shutdown). */
  readonly signal?: AbortSignal | undefined;
}

export interface FeedbackReadResult {
  /** Complete tuples handed to the caller. */
  readonly tuplesRead: number;
  /** Bytes of an incomplete last tuple when the service closed; never applied. */
  readonly truncatedBytes: number;
}

export type FeedbackBatchHandler = (tuples: FeedbackTuple[]) => void | Promise<void>;

type Phase = 'connect' | 'tls' | 'read';

/**
 * Connects, hands every decoded batch to `onTuples` (awaited: reading pauses meanwhile) and resolves
 * when the service closes the connection.
 */
export async function readFeedback(
  options: FeedbackConnectOptions,
  onTuples: FeedbackBatchHandler,
): Promise<FeedbackReadResult> {
  const decoder = new FeedbackDecoder();
  let tuplesRead = 0;
  let phase: Phase = 'connect';
  const where = { host: options.host, port: options.port };
  const fail = (code: ErrorCode, message: string, cause?: unknown): PushkeeperError =>
    new PushkeeperError(
      code,
      message,
      { ...where, phase, tuplesRead, truncatedBytes: decoder.bufferedBytes, ...causeCode(cause) },
      { cause },
    );

  options.signal?.throwIfAborted();
  let socket: tls.TLSSocket;
  try {
    socket = tls.connect({
      host: options.host,
      port: options.port,
      ...certificateOptions(options.certificate),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...serverName(options),
    });
  } catch (error) {
    // Thrown synchronously by createSecureContext: unreadable PEM/PKCS#12 or a wrong passphrase.
    throw new PushkeeperError(
      'PK_ERR_CREDENTIALS_INVALID',
      'The feedback client certificate or key cannot be used.',
      { ...where, ...causeCode(error) },
      { cause: error },
    );
  }

  let handlerFailed = false;
  const onAbort = (): void => {
    socket.destroy(fail('PK_ERR_SHUTTING_DOWN', 'The feedback poll was aborted.', options.signal?.reason));
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    socket.once('connect', () => {
      phase = 'tls';
    });
    await handshake(socket, options.connectTimeoutMs ?? DEFAULT_FEEDBACK_CONNECT_TIMEOUT_MS, () =>
      fail(
        'PK_ERR_FEEDBACK_CONNECT',
        `No TLS session with the feedback service at ${where.host}:${where.port} in time.`,
      ),
    );
    phase = 'read';
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_FEEDBACK_IDLE_TIMEOUT_MS;
    const onIdle = (): void => {
      socket.destroy(
        fail(
          'PK_ERR_FEEDBACK_TIMEOUT',
          `The feedback service sent nothing for ${idleTimeoutMs} ms; giving up.`,
        ),
      );
    };
    socket.on('timeout', onIdle);
    socket.setTimeout(idleTimeoutMs);
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      const tuples = decoder.push(chunk);
      if (tuples.length === 0) continue;
      // The handler may take a while (database writes); that is not the service being idle.
      socket.setTimeout(0);
      try {
        await onTuples(tuples);
      } catch (error) {
        handlerFailed = true;
        throw error;
      }
      tuplesRead += tuples.length;
      socket.setTimeout(idleTimeoutMs);
    }
    return { tuplesRead, truncatedBytes: decoder.finish().remainderBytes };
  } catch (error) {
    // The caller's own failure (e.g. the store) is theirs, not the feedback service's.
    if (handlerFailed) throw error;
    throw classify(error, phase, fail);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}

/** Reads the whole list into memory; for tools and tests. The poll streams with readFeedback. */
export async function pollFeedback(
  options: FeedbackConnectOptions,
): Promise<{ readonly tuples: FeedbackTuple[]; readonly truncatedBytes: number }> {
  const tuples: FeedbackTuple[] = [];
  const { truncatedBytes } = await readFeedback(options, (batch) => {
    for (const tuple of batch) tuples.push(tuple);
  });
  return { tuples, truncatedBytes };
}

function certificateOptions(certificate: FeedbackClientCertificate): tls.ConnectionOptions {
  const passphrase = certificate.passphrase === undefined ? {} : { passphrase: certificate.passphrase };
  if ('pfx' in certificate) return { pfx: Buffer.from(certificate.pfx), ...passphrase };
  return { cert: certificate.certPem, key: certificate.keyPem, ...passphrase };
}

/** RFC 6066 forbids an IP address as SNI; node warns if given one. */
function serverName(options: FeedbackConnectOptions): { servername?: string } {
  if (options.servername !== undefined) return { servername: options.servername };
  return isIP(options.host) === 0 ? { servername: options.host } : {};
}

function handshake(
  socket: tls.TLSSocket,
  timeoutMs: number,
  onTimeout: () => PushkeeperError,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = onTimeout();
      socket.destroy(error);
    }, timeoutMs);
    const settle = (error?: Error): void => {
      clearTimeout(timer);
      socket.off('secureConnect', onSecure);
      socket.off('error', settle);
      socket.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onSecure = (): void => settle();
    const onClose = (): void => settle(new Error('The connection closed during the TLS handshake.'));
    socket.once('secureConnect', onSecure);
    socket.once('error', settle);
    socket.once('close', onClose);
  });
}

function classify(
  error: unknown,
  phase: Phase,
  fail: (code: ErrorCode, message: string, cause?: unknown) => PushkeeperError,
): PushkeeperError {
  if (isPushkeeperError(error)) return error;
  const code = errorCode(error);
  if (phase === 'connect')
    return fail('PK_ERR_FEEDBACK_CONNECT', 'Could not connect to the feedback service.', error);
  if (phase === 'tls' || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || CERT_CODES.has(code)) {
    return fail(
      'PK_ERR_FEEDBACK_TLS',
      'The TLS session with the feedback service failed (is the client certificate the one the service trusts?).',
      error,
    );
  }
  return fail(
    'PK_ERR_FEEDBACK_CONNECT',
    'The connection to the feedback service failed while reading.',
    error,
  );
}

/** OpenSSL verification failures for the service's own certificate. */
const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return '';
}

function causeCode(error: unknown): { cause?: string } {
  const code = errorCode(error);
  return code === '' ? {} : { cause: code };
}
