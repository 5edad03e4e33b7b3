/**
 * How `push --wait` spaces its polls: quickly at first (a small push is final within a second),
 * then doubling up to a ceiling, so a long broadcast costs a request every few seconds rather than
 * four a second.
 */
export const FIRST_POLL_MS = 200;
export const MAX_POLL_MS = 3_000;

/** The delays between polls: 200, 400, 800, 1600, 3000, 3000, … ms. */
export function* pollDelays(first = FIRST_POLL_MS, max = MAX_POLL_MS): Generator<number, never> {
  let delay = first;
  for (;;) {
    yield delay;
    delay = Math.min(max, delay * 2);
  }
}
