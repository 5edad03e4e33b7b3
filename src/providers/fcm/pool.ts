/**
 * Up to N HTTP/2 connections to the FCM origin, opened on demand. Requests wait in one FIFO and go
 * to the connection with the most free streams: one connection carries ~100 streams, so several
 * give throughput (the `fcm-v1-http2` approach, rather than firebase-admin's one session per batch).
 * A connection that dies without ever answering pushes the next attempt back exponentially, so a
 * broken endpoint never becomes a reconnect storm; waiters are then handed back as `connect-failed`
 * for the client to decide.
 */
import { PushkeeperError } from '../../errors.ts';
import type { Clock } from './clock.ts';
import {
  FcmConnection,
  type FcmConnectionListener,
  type FcmConnectionOptions,
  type FcmStreamOutcome,
  type FcmWireRequest,
} from './connection.ts';

export type FcmConnectionFactory = (id: number, listener: FcmConnectionListener) => FcmConnection;

export interface FcmPoolStats {
  readonly open: number;
  readonly opened: number;
  readonly queued: number;
  readonly activeStreams: number;
}

interface Waiter {
  readonly request: FcmWireRequest;
  readonly done: (outcome: FcmStreamOutcome) => void;
}

export class FcmPool {
  readonly #factory: FcmConnectionFactory;
  readonly #size: number;
  readonly #clock: Clock;
  readonly #usable = new Set<FcmConnection>();
  readonly #all = new Set<FcmConnection>();
  #queue: (Waiter | undefined)[] = [];
  #head = 0;
  readonly #listener: FcmConnectionListener;
  #nextId = 1;
  #opened = 0;
  #failures = 0;
  #notBefore = 0;
  #wakeScheduled = false;
  #pumping = false;
  #closing = false;

  constructor(options: { factory: FcmConnectionFactory; size: number; clock: Clock }) {
    this.#factory = options.factory;
    this.#size = Math.max(1, options.size);
    this.#clock = options.clock;
    this.#listener = {
      onCapacity: () => this.#pump(),
      onDraining: (connection) => this.#onDraining(connection),
      onClosed: (connection) => {
        this.#usable.delete(connection);
        this.#all.delete(connection);
        this.#pump();
      },
    };
  }

  static defaultFactory(options: Omit<FcmConnectionOptions, 'id' | 'listener'>): FcmConnectionFactory {
    return (id, listener) => new FcmConnection({ ...options, id, listener });
  }

  stats(): FcmPoolStats {
    let activeStreams = 0;
    for (const connection of this.#all) activeStreams += connection.activeStreams;
    return {
      open: this.#all.size,
      opened: this.#opened,
      queued: this.#queue.length - this.#head,
      activeStreams,
    };
  }

  /** `done` is called exactly once with the outcome. */
  submit(request: FcmWireRequest, done: (outcome: FcmStreamOutcome) => void): void {
    if (this.#closing) {
      done({ kind: 'not-processed', cause: 'pool-closed' });
      return;
    }
    if (this.#head === this.#queue.length && !this.#pumping) {
      const connection = this.#pick();
      if (connection !== undefined) {
        connection.request(request, done);
        return;
      }
    }
    this.#queue.push({ request, done });
    this.#pump();
  }

  /** Closes every connection once their streams ended; queued requests resolve `pool-closed`. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#failQueue({ kind: 'not-processed', cause: 'pool-closed' });
    await Promise.all([...this.#all].map((connection) => connection.close()));
  }

  destroy(): void {
    this.#closing = true;
    this.#failQueue({ kind: 'not-processed', cause: 'pool-closed' });
    for (const connection of [...this.#all]) connection.destroy();
  }

  #shift(): Waiter | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const waiter = this.#queue[this.#head];
    this.#queue[this.#head] = undefined;
    this.#head += 1;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return waiter;
  }

  #failQueue(outcome: FcmStreamOutcome): void {
    for (let waiter = this.#shift(); waiter !== undefined; waiter = this.#shift()) waiter.done(outcome);
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#head < this.#queue.length) {
        const connection = this.#pick();
        if (connection === undefined) {
          this.#grow();
          break;
        }
        const waiter = this.#shift()!;
        connection.request(waiter.request, waiter.done);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #pick(): FcmConnection | undefined {
    let best: FcmConnection | undefined;
    let bestFree = 0;
    for (const connection of this.#usable) {
      const free = connection.available();
      if (free > bestFree) {
        best = connection;
        bestFree = free;
      }
    }
    // Open another connection while every open one is full and the cap allows it.
    if (best === undefined || (bestFree < 10 && this.#queue.length - this.#head > 0)) this.#grow();
    return best;
  }

  #grow(): void {
    if (this.#closing || this.#usable.size >= this.#size) return;
    for (const connection of this.#usable) if (connection.state === 'connecting') return;
    const now = this.#clock.now();
    if (now < this.#notBefore) {
      if (!this.#wakeScheduled) {
        this.#wakeScheduled = true;
        void this.#clock.sleep(this.#notBefore - now).then(() => {
          this.#wakeScheduled = false;
          this.#pump();
        });
      }
      return;
    }
    const connection = this.#factory(this.#nextId++, this.#listener);
    this.#opened += 1;
    this.#usable.add(connection);
    this.#all.add(connection);
  }

  #onDraining(connection: FcmConnection): void {
    this.#usable.delete(connection);
    if (connection.everResponded) {
      this.#failures = 0;
      this.#notBefore = 0;
    } else {
      this.#failures += 1;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(this.#failures - 1, 16));
      this.#notBefore = this.#clock.now() + delay * (0.5 + Math.random() * 0.5);
      if (!connection.everConnected && this.#usable.size === 0) {
        const error =
          connection.error ??
          new PushkeeperError('PK_ERR_FCM_CONNECTION', 'The connection closed before it was ready.');
        this.#failQueue({ kind: 'not-processed', cause: 'connect-failed', error });
      }
    }
    this.#pump();
  }
}
