/**
 * Bounded fan-out over a (possibly huge, possibly async) iterable of notifications: at most
 * `concurrency` sends in flight plus results not yet taken by the consumer, so memory stays flat
 * whatever the audience size (ARCHITECTURE.md principle 6). The input is pulled only when a slot is
 * free; results come out in completion order.
 *
 * A hand-written async iterator rather than an async generator: with a synchronous input it pulls
 * without awaiting, and a result handed to a waiting consumer costs one promise, not a generator
 * round trip (measured: the generator was the client's single largest self-time entry).
 */
import type { SendResult } from '../../domain/index.ts';

export interface SendManyResult<N> {
  readonly notification: N;
  readonly result: SendResult;
}

type Source<N> = { readonly sync: true; readonly it: Iterator<N> } | { readonly sync: false; readonly it: AsyncIterator<N> };

export class SendManyIterator<N> implements AsyncIterableIterator<SendManyResult<N>> {
  readonly #send: (notification: N) => Promise<SendResult>;
  readonly #concurrency: number;
  readonly #source: Source<N>;
  readonly #onInFlight: ((count: number) => void) | undefined;
  #buffer: SendManyResult<N>[] = [];
  #head = 0;
  #running = 0;
  #exhausted = false;
  #pulling = false;
  #stopped = false;
  #failure: { error: unknown } | undefined;
  #waiter: { resolve: (r: IteratorResult<SendManyResult<N>>) => void; reject: (e: unknown) => void } | undefined;

  constructor(
    notifications: Iterable<N> | AsyncIterable<N>,
    send: (notification: N) => Promise<SendResult>,
    concurrency: number,
    onInFlight?: (count: number) => void,
  ) {
    this.#send = send;
    this.#concurrency = Math.max(1, concurrency);
    this.#onInFlight = onInFlight;
    this.#source =
      Symbol.asyncIterator in notifications
        ? { sync: false, it: (notifications as AsyncIterable<N>)[Symbol.asyncIterator]() }
        : { sync: true, it: (notifications as Iterable<N>)[Symbol.iterator]() };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<SendManyResult<N>>> {
    if (this.#head < this.#buffer.length) {
      const value = this.#take();
      this.#fill();
      return Promise.resolve({ value, done: false });
    }
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error);
    if (this.#stopped || (this.#exhausted && this.#running === 0)) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#fill();
    });
  }

  /** The consumer stopped early (`break`): read no more input. Sends in flight still finish. */
  async return(): Promise<IteratorResult<SendManyResult<N>>> {
    this.#stopped = true;
    if (!this.#exhausted) {
      this.#exhausted = true;
      await this.#source.it.return?.();
    }
    return { value: undefined, done: true };
  }

  #take(): SendManyResult<N> {
    const value = this.#buffer[this.#head]!;
    this.#head += 1;
    if (this.#head === this.#buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    }
    return value;
  }

  #fill(): void {
    if (this.#pulling) return;
    while (!this.#exhausted && this.#running + (this.#buffer.length - this.#head) < this.#concurrency) {
      if (this.#source.sync) {
        let step: IteratorResult<N>;
        try {
          step = this.#source.it.next();
        } catch (error) {
          this.#fail(error);
          return;
        }
        if (step.done === true) this.#exhausted = true;
        else this.#start(step.value);
        continue;
      }
      this.#pulling = true;
      this.#source.it.next().then(
        (step) => {
          this.#pulling = false;
          if (step.done === true) {
            this.#exhausted = true;
            this.#settleIfDone();
          } else this.#start(step.value);
          this.#fill();
        },
        (error: unknown) => {
          this.#pulling = false;
          this.#fail(error);
        },
      );
      return;
    }
    this.#settleIfDone();
  }

  #start(notification: N): void {
    this.#running += 1;
    this.#onInFlight?.(this.#running);
    void this.#send(notification).then((result) => {
      this.#running -= 1;
      const item = { notification, result };
      const waiter = this.#waiter;
      if (waiter !== undefined) {
        this.#waiter = undefined;
        waiter.resolve({ value: item, done: false });
      } else {
        this.#buffer.push(item);
      }
      this.#fill();
    });
  }

  #settleIfDone(): void {
    if (this.#exhausted && this.#running === 0 && this.#head === this.#buffer.length && this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ value: undefined, done: true });
    }
  }

  #fail(error: unknown): void {
    this.#exhausted = true;
    this.#failure = { error };
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.reject(error);
    }
  }
}
