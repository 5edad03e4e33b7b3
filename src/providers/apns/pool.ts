/**
 * Up to N connections to one origin, opened on demand through an injected factory (the seam the
 * pool's unit tests use). Requests wait in one FIFO queue and go to the connection with the most
 * free streams, which spreads load as Apple advises ("spread traffic over many connections").
 *
 * Dead connections are replaced when there is work, with a bounded rate: a connection that dies
 * without ever answering counts as a failure and pushes the next attempt back exponentially
 * (with jitter), so a broken endpoint or credential never becomes a reconnect storm — APNs treats
 * rapid reconnects as a denial-of-service attack (Apple, "Troubleshooting push notifications").
 *
 * Time in the queue is bounded when no stream is to be had: a server may advertise
 * SETTINGS_MAX_CONCURRENT_STREAMS 0 (RFC 9113 §6.5.2 allows it, "a temporary" state) and keep it.
 * Requests never reach the wire there, so their own timeout never starts. After
 * `noStreamsTimeoutMs` without a stream on offer, the requests that waited that long end
 * `not-processed` (`no-streams`, safe to retry) and the connections offering nothing are closed, to
 * be replaced by the reconnect rules above (undici bounds the same wait with `noStreamsTimeout`).
 */
import { PushkeeperError } from '../../errors.ts';
import type { Clock } from './clock.ts';
import type { ConnectionListener, PoolConnection, StreamOutcome, WireRequest } from './connection.ts';

export type ConnectionFactory = (id: number, listener: ConnectionListener) => PoolConnection;

export interface ConnectionPoolOptions {
  readonly factory: ConnectionFactory;
  /** Upper bound on open connections. */
  readonly size: number;
  readonly clock: Clock;
  readonly random?: () => number;
  /** First delay after a failed connection; doubles per consecutive failure. Default 250 ms. */
  readonly reconnectBaseMs?: number;
  /** Default 30 s. */
  readonly reconnectMaxMs?: number;
  /** How long a request may wait while every open connection offers zero streams. Default 5 s. */
  readonly noStreamsTimeoutMs?: number;
}

export interface PoolStats {
  readonly open: number;
  readonly opened: number;
  readonly failedConnects: number;
  readonly queued: number;
  readonly activeStreams: number;
}

interface Waiter {
  readonly request: WireRequest;
  readonly resolve: (outcome: StreamOutcome) => void;
  /** clock.now() when it joined the queue. */
  readonly queuedAt: number;
}

/** A FIFO that does not shift arrays (a queue can hold an audience's worth of waiters briefly). */
class WaiterQueue {
  #items: (Waiter | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: Waiter): void {
    this.#items.push(item);
  }

  peek(): Waiter | undefined {
    return this.#items[this.#head];
  }

  shift(): Waiter | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

export class ConnectionPool {
  readonly #options: ConnectionPoolOptions;
  readonly #random: () => number;
  /** Connections that may still take streams (connecting or ready). */
  readonly #usable = new Set<PoolConnection>();
  /** Every connection not yet closed, draining ones included. */
  readonly #all = new Set<PoolConnection>();
  readonly #queue = new WaiterQueue();
  readonly #listener: ConnectionListener;
  #nextId = 1;
  #opened = 0;
  #failedConnects = 0;
  #consecutiveFailures = 0;
  #lastError: PushkeeperError | undefined;
  #notBefore = 0;
  #wakeScheduled = false;
  #closing = false;
  #closed: Promise<void> | undefined;
  #allClosedWaiters: (() => void)[] = [];
  #pumping = false;
  /** A no-streams check is scheduled (clock sleeps cannot be cancelled: it re-checks when it wakes). */
  #stallCheckScheduled = false;

  constructor(options: ConnectionPoolOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#listener = {
      onCapacity: () => this.#pump(),
      onDraining: (connection) => this.#onDraining(connection),
      onClosed: (connection) => this.#onClosed(connection),
    };
  }

  stats(): PoolStats {
    let activeStreams = 0;
    for (const connection of this.#all) activeStreams += connection.activeStreams;
    return {
      open: this.#all.size,
      opened: this.#opened,
      failedConnects: this.#failedConnects,
      queued: this.#queue.length,
      activeStreams,
    };
  }

  /** Sends on the first connection with a free stream; waits in line when none has one. */
  dispatch(request: WireRequest): Promise<StreamOutcome> {
    return new Promise((resolve) => this.submit(request, resolve));
  }

  /** `dispatch` without a promise: `done` is called exactly once with the outcome. */
  submit(request: WireRequest, done: (outcome: StreamOutcome) => void): void {
    if (this.#closing) {
      done({ kind: 'not-processed', cause: 'pool-closed' });
      return;
    }
    // Straight onto a connection when nobody waits in line (the common case); queued otherwise.
    if (this.#queue.length === 0 && !this.#pumping) {
      const connection = this.#pick();
      if (connection !== undefined) {
        connection.request(request, done);
        return;
      }
    }
    this.#queue.push({ request, resolve: done, queuedAt: this.#options.clock.now() });
    this.#pump();
  }

  /** Lets queued and open streams finish, then closes every connection. Idempotent. */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closed = (async () => {
      // Queued requests still get sent: callers drained their sends before closing the pool.
      while (this.#queue.length > 0 && this.#usable.size + this.#all.size > 0) {
        await new Promise<void>((resolve) => this.#allClosedWaiters.push(resolve));
      }
      this.#closing = true;
      this.#failQueue({ kind: 'not-processed', cause: 'pool-closed' });
      await Promise.all([...this.#all].map((connection) => connection.close()));
    })();
    return this.#closed;
  }

  /** Aborts every connection; queued requests resolve `pool-closed`, open streams as the session drops them. */
  destroy(): void {
    this.#closing = true;
    this.#closed ??= Promise.resolve();
    this.#failQueue({ kind: 'not-processed', cause: 'pool-closed' });
    for (const connection of [...this.#all]) connection.destroy();
  }

  /** Resolves every waiting request with `outcome` (e.g. the credentials were refused). */
  failQueued(outcome: StreamOutcome): void {
    this.#failQueue(outcome);
  }

  #failQueue(outcome: StreamOutcome): void {
    for (let waiter = this.#queue.shift(); waiter !== undefined; waiter = this.#queue.shift())
      waiter.resolve(outcome);
  }

  #pump(): void {
    // Re-entrancy guard: a connection's request() may call back into onCapacity synchronously.
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0) {
        const connection = this.#pick();
        if (connection === undefined) {
          this.#grow();
          break;
        }
        const waiter = this.#queue.shift()!;
        connection.request(waiter.request, waiter.resolve);
      }
    } finally {
      this.#pumping = false;
    }
    if (this.#queue.length > 0 && !this.#stallCheckScheduled && this.#starved()) this.#scheduleStallCheck();
    this.#wakeClosers();
  }

  /**
   * Every usable connection is up and offers zero streams with none in use: nothing will free a
   * stream (a connection setting up, or streams ending or timing out, would).
   */
  #starved(): boolean {
    if (this.#usable.size === 0) return false;
    for (const connection of this.#usable) {
      if (connection.state !== 'ready' || connection.activeStreams > 0 || connection.available() > 0) return false;
    }
    return true;
  }

  #scheduleStallCheck(): void {
    const oldest = this.#queue.peek();
    if (oldest === undefined) return;
    const timeout = this.#options.noStreamsTimeoutMs ?? 5_000;
    this.#stallCheckScheduled = true;
    const wait = Math.max(0, oldest.queuedAt + timeout - this.#options.clock.now());
    void this.#options.clock.sleep(wait).then(() => {
      this.#stallCheckScheduled = false;
      this.#onStallCheck(timeout);
    });
  }

  #onStallCheck(timeout: number): void {
    if (this.#closing || this.#queue.length === 0 || !this.#starved()) return;
    const expiredBefore = this.#options.clock.now() - timeout;
    let failed = 0;
    for (let waiter = this.#queue.peek(); waiter !== undefined && waiter.queuedAt <= expiredBefore; waiter = this.#queue.peek()) {
      this.#queue.shift();
      failed += 1;
      waiter.resolve({
        kind: 'not-processed',
        cause: 'no-streams',
        error: new PushkeeperError(
          'PK_ERR_APNS_NO_STREAMS',
          `No stream offered for ${timeout} ms: the server allows 0 concurrent streams.`,
          { waitedMs: timeout },
        ),
      });
    }
    if (failed > 0) {
      // A connection stuck at zero streams is replaced (with back-off when it never answered).
      for (const connection of [...this.#usable]) void connection.close();
    }
    this.#pump();
  }

  #pick(): PoolConnection | undefined {
    let best: PoolConnection | undefined;
    let bestFree = 0;
    for (const connection of this.#usable) {
      const free = connection.available();
      if (free > bestFree) {
        best = connection;
        bestFree = free;
      }
    }
    return best;
  }

  /** Opens one more connection when work waits, the cap allows it and no back-off is running. */
  #grow(): void {
    if (this.#closing || this.#usable.size >= this.#options.size) return;
    let connecting = 0;
    for (const connection of this.#usable) if (connection.state === 'connecting') connecting += 1;
    // One queued request needs one connection, not N: open more only while the queue outgrows
    // what the connections being set up will take.
    if (connecting > 0 && this.#queue.length <= connecting) return;
    const now = this.#options.clock.now();
    if (now < this.#notBefore) {
      this.#scheduleWake(this.#notBefore - now);
      return;
    }
    const connection = this.#options.factory(this.#nextId++, this.#listener);
    this.#opened += 1;
    this.#usable.add(connection);
    this.#all.add(connection);
  }

  #scheduleWake(ms: number): void {
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    void this.#options.clock.sleep(ms).then(() => {
      this.#wakeScheduled = false;
      this.#pump();
    });
  }

  #onDraining(connection: PoolConnection): void {
    this.#usable.delete(connection);
    if (!connection.everResponded) {
      this.#consecutiveFailures += 1;
      if (!connection.everConnected) this.#failedConnects += 1;
      this.#lastError = connection.error ?? this.#lastError;
      const base = this.#options.reconnectBaseMs ?? 250;
      const max = this.#options.reconnectMaxMs ?? 30_000;
      const delay = Math.min(max, base * 2 ** Math.min(this.#consecutiveFailures - 1, 20));
      // Jitter between half and the full delay: many processes restarting together spread out.
      this.#notBefore = this.#options.clock.now() + delay * (0.5 + this.#random() * 0.5);
      // A connection that never came up leaves waiters stranded when nothing else is there to take
      // them: hand them back so the client decides (retry within its budget, or fail).
      if (!connection.everConnected && this.#usable.size === 0) {
        const error =
          this.#lastError ??
          new PushkeeperError('PK_ERR_APNS_CONNECTION', 'The connection closed before it was ready.');
        this.#failQueue({ kind: 'not-processed', cause: 'connect-failed', error });
      }
    } else {
      this.#consecutiveFailures = 0;
      this.#notBefore = 0;
    }
    this.#pump();
  }

  #onClosed(connection: PoolConnection): void {
    this.#usable.delete(connection);
    this.#all.delete(connection);
    this.#pump();
  }

  #wakeClosers(): void {
    if (this.#allClosedWaiters.length === 0) return;
    if (this.#queue.length > 0 && this.#usable.size + this.#all.size > 0) return;
    const waiters = this.#allClosedWaiters;
    this.#allClosedWaiters = [];
    for (const wake of waiters) wake();
  }
}
