/**
 * Bounded fan-out over a (possibly huge, possibly async) iterable: at most `concurrency` sends in
 * flight plus results not yet taken, so memory stays flat whatever the audience size. The input is
 * pulled only when a slot is free; results come out in completion order. A failing input iterator
 * rejects the iteration; sends already started still complete.
 */
export class BoundedSends<I, R>
  implements AsyncIterableIterator<{ readonly request: I; readonly result: R }>
{
  readonly #send: (request: I) => Promise<R>;
  readonly #concurrency: number;
  readonly #sync: Iterator<I> | undefined;
  readonly #async: AsyncIterator<I> | undefined;
  #buffer: { request: I; result: R }[] = [];
  #head = 0;
  #running = 0;
  #exhausted = false;
  #pulling = false;
  #failure: { error: unknown } | undefined;
  #waiter:
    | { resolve: (r: IteratorResult<{ request: I; result: R }>) => void; reject: (e: unknown) => void }
    | undefined;

  constructor(
    requests: Iterable<I> | AsyncIterable<I>,
    send: (request: I) => Promise<R>,
    concurrency: number,
  ) {
    this.#send = send;
    this.#concurrency = Math.max(1, concurrency);
    if (Symbol.asyncIterator in requests)
      this.#async = (requests as AsyncIterable<I>)[Symbol.asyncIterator]();
    else this.#sync = (requests as Iterable<I>)[Symbol.iterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<{ request: I; result: R }>> {
    if (this.#head < this.#buffer.length) {
      const value = this.#buffer[this.#head]!;
      this.#head += 1;
      if (this.#head === this.#buffer.length) {
        this.#buffer = [];
        this.#head = 0;
      }
      this.#fill();
      return Promise.resolve({ value, done: false });
    }
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error);
    if (this.#exhausted && this.#running === 0) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#fill();
    });
  }

  /** The consumer stopped early: read no more input. Sends in flight still finish. */
  async return(): Promise<IteratorResult<{ request: I; result: R }>> {
    if (!this.#exhausted) {
      this.#exhausted = true;
      await (this.#sync ?? this.#async)?.return?.();
    }
    return { value: undefined, done: true };
  }

  #fill(): void {
    if (this.#pulling) return;
    while (!this.#exhausted && this.#running + (this.#buffer.length - this.#head) < this.#concurrency) {
      if (this.#sync !== undefined) {
        let step: IteratorResult<I>;
        try {
          step = this.#sync.next();
        } catch (error) {
          this.#fail(error);
          return;
        }
        if (step.done === true) this.#exhausted = true;
        else this.#start(step.value);
        continue;
      }
      this.#pulling = true;
      this.#async!.next().then(
        (step) => {
          this.#pulling = false;
          if (step.done === true) this.#exhausted = true;
          else this.#start(step.value);
          this.#fill();
        },
        (error: unknown) => {
          this.#pulling = false;
          this.#fail(error);
        },
      );
      return;
    }
    if (
      this.#exhausted &&
      this.#running === 0 &&
      this.#head === this.#buffer.length &&
      this.#waiter !== undefined
    ) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ value: undefined, done: true });
    }
  }

  #start(request: I): void {
    this.#running += 1;
    void this.#send(request).then((result) => {
      this.#running -= 1;
      const item = { request, result };
      const waiter = this.#waiter;
      if (waiter !== undefined) {
        this.#waiter = undefined;
        waiter.resolve({ value: item, done: false });
      } else this.#buffer.push(item);
      this.#fill();
    });
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
