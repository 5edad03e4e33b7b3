/**
 * A retry budget (as in Finagle and gRPC): retries may add at most `ratio` of the first attempts plus
 * a fixed reserve, so while a push service answers 503 to everything the request rate stays near the
 * offered load instead of multiplying by the attempt count. An empty budget means "no retry here":
 * the rejection goes back to the caller with its disposition `retry`, for its queue to schedule.
 */
export class RetryAllowance {
  readonly #ratio: number;
  readonly #max: number;
  #tokens: number;

  constructor(options: { ratio?: number; reserve?: number } = {}) {
    this.#ratio = options.ratio ?? 0.2;
    this.#max = options.reserve ?? 50;
    this.#tokens = this.#max;
  }

  firstAttempt(): void {
    this.#tokens = Math.min(this.#max, this.#tokens + this.#ratio);
  }

  takeRetry(): boolean {
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
