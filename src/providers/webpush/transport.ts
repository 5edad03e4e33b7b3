/**
 * What the Web Push client needs from a connection pool to one push-service origin: send one POST,
 * get its answer. Two implementations: HTTP/2 over our own session (h2-transport.ts) where the
 * service negotiates h2 by ALPN, node:https keep-alive otherwise (http1-transport.ts).
 */
import type tls from 'node:tls';
import type { ErrorCode } from '../../errors.ts';

export interface PushRequest {
  /** Path and query exactly as in the endpoint. */
  readonly path: string;
  /** Lower-case header names and values (no pseudo-headers). */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

export interface PushResponse {
  readonly status: number;
  /** At most a few KB of the body, as text (error reasons). */
  readonly body: string;
  header(name: string): string | undefined;
}

/** A transport failure before any answer. `ambiguous`: the service may have acted on it. */
export class TransportFailure extends Error {
  readonly code: ErrorCode;
  readonly ambiguous: boolean;

  constructor(code: ErrorCode, message: string, ambiguous: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportFailure';
    this.code = code;
    this.ambiguous = ambiguous;
  }
}

export interface TransportOptions {
  readonly origin: string;
  /** Extra TLS options (a test CA). */
  readonly tls?: tls.ConnectionOptions;
  /** Most connections to this origin. */
  readonly maxConnections: number;
  /** A request without an answer after this long fails (ambiguously). */
  readonly requestTimeoutMs: number;
  /** TCP + TLS setup bound. */
  readonly connectTimeoutMs: number;
}

export interface PushTransport {
  readonly protocol: 'h2' | 'http/1.1';
  send(request: PushRequest): Promise<PushResponse>;
  /** No new requests; resolves when those in flight have ended. Idempotent. */
  close(): Promise<void>;
  /** Aborts everything now. */
  destroy(): void;
}

/** Response bodies kept: push services answer a short reason; anything longer is not needed. */
export const RESPONSE_BODY_CAP = 4096;

/** A header lookup over HTTP/2's flat [name, value, …] list. */
export function flatHeaderLookup(
  fields: readonly string[] | undefined,
): (name: string) => string | undefined {
  return (name) => {
    if (fields === undefined) return undefined;
    for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
}
