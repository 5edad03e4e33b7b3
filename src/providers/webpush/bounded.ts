/**
 * At most `concurrency` tasks in flight over a (possibly huge, possibly async) input, results in
 * completion order. Input is pulled only when a slot is free and results not yet taken count
 * against the bound, so memory stays flat whatever the audience size.
 */
export function boundedMap<I, O>(
  input: Iterable<I> | AsyncIterable<I>,
  task: (item: I) => Promise<O>,
  concurrency: number,
): AsyncIterableIterator<O> {
  const limit = Math.max(1, Math.floor(concurrency));
  const source: Iterator<I> | AsyncIterator<I> =
    Symbol.asyncIterator in input
      ? (input as AsyncIterable<I>)[Symbol.asyncIterator]()
      : (input as Iterable<I>)[Symbol.iterator]();
  const ready: O[] = [];
  let running = 0;
  let exhausted = false;
  let pulling = false;
  let failure: { error: unknown } | undefined;
  let waiter: { resolve: (r: IteratorResult<O>) => void; reject: (e: unknown) => void } | undefined;

  const wake = () => {
    if (waiter === undefined) return;
    const w = waiter;
    if (ready.length > 0) {
      waiter = undefined;
      w.resolve({ value: ready.shift()!, done: false });
    } else if (failure !== undefined) {
      waiter = undefined;
      w.reject(failure.error);
    } else if (exhausted && running === 0) {
      waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
  };
  const start = (item: I) => {
    running += 1;
    task(item).then(
      (value) => {
        running -= 1;
        ready.push(value);
        fill();
        wake();
      },
      (error: unknown) => {
        running -= 1;
        failure ??= { error };
        exhausted = true;
        wake();
      },
    );
  };
  const fill = (): void => {
    while (!exhausted && !pulling && running + ready.length < limit) {
      let step: IteratorResult<I> | Promise<IteratorResult<I>>;
      try {
        step = source.next();
      } catch (error) {
        failure ??= { error };
        exhausted = true;
        break;
      }
      if (step instanceof Promise) {
        pulling = true;
        step.then(
          (result) => {
            pulling = false;
            if (result.done === true) exhausted = true;
            else start(result.value);
            fill();
            wake();
          },
          (error: unknown) => {
            pulling = false;
            failure ??= { error };
            exhausted = true;
            wake();
          },
        );
        return;
      }
      if (step.done === true) exhausted = true;
      else start(step.value);
    }
  };

  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      fill();
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        wake();
      });
    },
    async return() {
      if (!exhausted) {
        exhausted = true;
        await source.return?.();
      }
      return { value: undefined, done: true };
    },
  };
}
