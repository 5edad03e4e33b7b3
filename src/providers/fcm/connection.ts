/**
 * One HTTP/2 connection to the FCM origin over our own client session (http2/client-session.ts).
 *
 * - Streams: FCM publishes no limit; firebase-admin caps itself at 100 and one connection is
 *   reported to allow 100, while exceeding the limit costs the whole connection (GOAWAY
 *   PROTOCOL_ERROR, https://github.com/firebase/firebase-admin-node/issues/2943). So until the
 *   server's SETTINGS arrive we assume 100 — RFC 9113's "unlimited" default would be wrong here —
 *   and afterwards obey what it advertises.
 * - GOAWAY (FCM closes idle connections with debug data `session_timed_out`) and REFUSED_STREAM:
 *   streams above last-stream-id or refused were not processed and are reported `not-processed`,
 *   safe to resend (RFC 9113 §6.8, §8.7).
 * - A request timeout cancels the stream (RST_STREAM CANCEL) and is `ambiguous`: FCM may have
 *   delivered it, and it has no idempotency key.
 * - Closes itself after `idleTimeoutMs` without streams.
 */
import { PushkeeperError } from '../../errors.ts';
import { H2Stream, Http2ClientSession } from '../../http2/client-session.ts';
import { H2Error } from '../../http2/frames.ts';

export type FcmStreamOutcome =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly fields: readonly string[];
      readonly body: Buffer;
    }
  | {
      readonly kind: 'not-processed';
      readonly cause: 'refused-stream' | 'goaway' | 'not-written' | 'connect-failed' | 'pool-closed';
      readonly error?: PushkeeperError | undefined;
    }
  | {
      readonly kind: 'ambiguous';
      readonly cause: 'timeout' | 'connection-lost';
      readonly error?: PushkeeperError | undefined;
    };

export interface FcmWireRequest {
  readonly path: string;
  readonly authorization: string;
  readonly body: Buffer;
}

export interface FcmConnectionListener {
  onCapacity(connection: FcmConnection): void;
  onDraining(connection: FcmConnection): void;
  onClosed(connection: FcmConnection): void;
}

export interface FcmConnectionOptions {
  readonly id: number;
  readonly origin: string;
  readonly listener: FcmConnectionListener;
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
  /** Our own cap on concurrent streams. Default 100. */
  readonly maxStreams: number;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

export type FcmConnectionState = 'connecting' | 'ready' | 'draining' | 'closed';

/** Assumed until the server's first SETTINGS frame says otherwise. */
const ASSUMED_SERVER_LIMIT = 100;
const EMPTY = Buffer.alloc(0);

class PendingStream extends H2Stream {
  done: ((outcome: FcmStreamOutcome) => void) | undefined;
  readonly deadline: number;
  timedOut = false;

  constructor(done: (outcome: FcmStreamOutcome) => void, deadline: number) {
    super();
    this.done = done;
    this.deadline = deadline;
  }
}

export class FcmConnection {
  readonly id: number;
  readonly #options: FcmConnectionOptions;
  readonly #session: Http2ClientSession;
  readonly #authority: string;
  readonly #pending = new Set<PendingStream>();
  #state: FcmConnectionState = 'connecting';
  #serverLimit = ASSUMED_SERVER_LIMIT;
  #lastStreamId: number | undefined;
  #error: PushkeeperError | undefined;
  #everConnected = false;
  #everResponded = false;
  #connectTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #closed: Promise<void>;
  #resolveClosed: () => void = () => {};

  constructor(options: FcmConnectionOptions) {
    this.id = options.id;
    this.#options = options;
    this.#authority = new URL(options.origin).host;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#session = new Http2ClientSession({
      origin: options.origin,
      tls: options.ca === undefined ? {} : { ca: options.ca as string | Buffer | Array<string | Buffer> },
      listener: {
        onConnect: () => this.#onConnect(),
        onRemoteSettings: (max) => {
          this.#serverLimit = max;
          if (this.#state === 'ready') options.listener.onCapacity(this);
        },
        onGoaway: (_code, lastStreamId) => {
          this.#lastStreamId = lastStreamId;
          if (lastStreamId > 0) this.#everResponded = true;
          this.#drain();
        },
        onPingAck: () => {},
        onStreamEnd: (stream) => this.#streamEnded(stream as PendingStream),
        onClose: (error) => {
          if (error !== undefined && this.#error === undefined) {
            const code = (error as { code?: unknown }).code;
            this.#error = new PushkeeperError(
              'PK_ERR_FCM_CONNECTION',
              `Connection ${this.id} to ${options.origin} failed: ${error.message}`,
              { cause: typeof code === 'string' ? code : undefined },
              { cause: error },
            );
          }
          this.#onClose();
        },
      },
    });
    this.#connectTimer = setTimeout(() => {
      this.destroy(
        new PushkeeperError(
          'PK_ERR_FCM_CONNECTION',
          `No connection to ${options.origin} within ${options.connectTimeoutMs} ms.`,
        ),
      );
    }, options.connectTimeoutMs);
    this.#connectTimer.unref();
  }

  get state(): FcmConnectionState {
    return this.#state;
  }

  get activeStreams(): number {
    return this.#pending.size;
  }

  get everConnected(): boolean {
    return this.#everConnected;
  }

  get everResponded(): boolean {
    return this.#everResponded;
  }

  get error(): PushkeeperError | undefined {
    return this.#error;
  }

  available(): number {
    if (this.#state !== 'ready' || !this.#session.canOpenStreams) return 0;
    return Math.max(0, Math.min(this.#serverLimit, this.#options.maxStreams) - this.#pending.size);
  }

  request(request: FcmWireRequest, done: (outcome: FcmStreamOutcome) => void): void {
    if (this.#state !== 'ready' || !this.#session.canOpenStreams) {
      done({ kind: 'not-processed', cause: 'not-written', error: this.#error });
      return;
    }
    // RFC 9113 §8.3.1: `:scheme` is exactly "https" (firebase-admin's "https:" is refused by nghttp2).
    const fields = [
      ':method',
      'POST',
      ':scheme',
      'https',
      ':authority',
      this.#authority,
      ':path',
      request.path,
      'authorization',
      request.authorization,
      'content-type',
      'application/json; charset=UTF-8',
    ];
    const pending = new PendingStream(done, Date.now() + this.#options.requestTimeoutMs);
    this.#clearIdle();
    this.#pending.add(pending);
    this.#armSweep();
    this.#session.request(fields, request.body, pending);
  }

  close(): Promise<void> {
    if (this.#state === 'closed') return this.#closed;
    this.#drain();
    this.#session.close();
    return this.#closed;
  }

  destroy(error?: PushkeeperError): void {
    if (error !== undefined) this.#error ??= error;
    this.#drain();
    this.#session.destroy(error);
  }

  #onConnect(): void {
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    if (this.#state !== 'connecting') return;
    this.#state = 'ready';
    this.#everConnected = true;
    this.#armIdle();
    this.#options.listener.onCapacity(this);
  }

  /** One timer per connection: the oldest streams (deadline order) are checked a few times per timeout. */
  #armSweep(): void {
    if (this.#sweepTimer !== undefined) return;
    const every = Math.max(10, Math.min(1000, Math.floor(this.#options.requestTimeoutMs / 4)));
    this.#sweepTimer = setInterval(() => {
      const now = Date.now();
      const expired: PendingStream[] = [];
      for (const pending of this.#pending) {
        if (pending.deadline > now) break;
        if (!pending.timedOut) expired.push(pending);
      }
      for (const pending of expired) {
        pending.timedOut = true;
        this.#session.cancel(pending);
      }
      if (this.#pending.size === 0 && this.#sweepTimer !== undefined) {
        clearInterval(this.#sweepTimer);
        this.#sweepTimer = undefined;
      }
    }, every);
    this.#sweepTimer.unref();
  }

  #drain(): void {
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#clearIdle();
    if (this.#state === 'ready' || this.#state === 'connecting') {
      this.#state = 'draining';
      this.#options.listener.onDraining(this);
    }
  }

  #streamEnded(pending: PendingStream): void {
    this.#pending.delete(pending);
    if (pending.status !== 0) this.#everResponded = true;
    if (this.#session.closed || !this.#session.canOpenStreams) this.#drain();
    const done = pending.done;
    pending.done = undefined;
    const outcome = this.#outcomeOf(pending);
    pending.fields = undefined;
    pending.chunks = undefined;
    done?.(outcome);
    if (this.#pending.size === 0) this.#armIdle();
    if (this.#state === 'ready') this.#options.listener.onCapacity(this);
  }

  #outcomeOf(pending: PendingStream): FcmStreamOutcome {
    if (pending.timedOut) {
      return {
        kind: 'ambiguous',
        cause: 'timeout',
        error: new PushkeeperError('PK_ERR_FCM_TIMEOUT', undefined, { connectionId: this.id }),
      };
    }
    if (pending.end === 'complete') {
      const chunks = pending.chunks;
      const body = chunks === undefined ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      return { kind: 'response', status: pending.status, fields: pending.fields ?? [], body };
    }
    if (pending.end === 'reset' && pending.rstCode === H2Error.REFUSED_STREAM)
      return { kind: 'not-processed', cause: 'refused-stream' };
    if (pending.end === 'goaway' || (this.#lastStreamId !== undefined && pending.id > this.#lastStreamId)) {
      return { kind: 'not-processed', cause: 'goaway' };
    }
    if (!pending.requestWritten) return { kind: 'not-processed', cause: 'not-written', error: this.#error };
    return {
      kind: 'ambiguous',
      cause: 'connection-lost',
      error:
        this.#error ??
        new PushkeeperError(
          'PK_ERR_FCM_CONNECTION',
          `The stream ended without a complete answer (rst ${pending.rstCode ?? 'none'}).`,
        ),
    };
  }

  #armIdle(): void {
    if (this.#options.idleTimeoutMs <= 0 || this.#state !== 'ready') return;
    this.#clearIdle();
    this.#idleTimer = setTimeout(() => {
      if (this.#pending.size === 0) void this.close();
    }, this.#options.idleTimeoutMs);
    this.#idleTimer.unref();
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #onClose(): void {
    this.#drain();
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#state = 'closed';
    this.#options.listener.onClosed(this);
    this.#resolveClosed();
  }
}
