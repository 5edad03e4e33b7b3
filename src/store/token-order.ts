/**
 * Device tokens in sorted order, fast. Bulk writes visit the (app, token) index in token order so
 * consecutive rows land on neighbouring pages (bulk-upsert.ts, invalidations.ts), and sorting
 * 100,000 tokens per batch with `Array.prototype.sort` was 11% of an import's CPU (a string
 * comparison per pair, ~1.7 million pairs a batch, plus a Map from token to row). Tokens are random
 * hex, so a counting sort on their first four digits spreads them over 65,536 buckets of one or
 * two, and only within a bucket are tokens compared.
 */

const BUCKETS = 65_536;
/** Below this many items the buckets' bookkeeping costs more than it saves. */
const BUCKETED_FROM = 2048;
/** Buckets larger than this (tokens sharing a prefix, by chance or by design) use the native sort. */
const INSERTION_SORT_UP_TO = 16;

/** '0'-'9' → 0-9, 'a'-'f' → 10-15 (other characters give other numbers; see inTokenOrder). */
function digit(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

function bucketOf(token: string): number {
  if (token.length < 4) return 0;
  return (
    ((digit(token.charCodeAt(0)) << 12) |
      (digit(token.charCodeAt(1)) << 8) |
      (digit(token.charCodeAt(2)) << 4) |
      digit(token.charCodeAt(3))) &
    0xffff
  );
}

/**
 * `items` ordered by `tokenOf(item)` as a stable sort comparing the tokens by UTF-16 code unit
 * (for lower-case hex, the order of the bytes) would order them: items with equal tokens keep
 * their relative order. Meant for parsed tokens (lower-case hex, 64 digits or more); any other
 * strings still come out in order — each bucket is sorted, and if the buckets are not in order
 * (strings that are not hex), a native sort of the whole list runs instead.
 */
export function inTokenOrder<T>(items: readonly T[], tokenOf: (item: T) => string): T[] {
  const count = items.length;
  const byToken = (a: T, b: T) => {
    const x = tokenOf(a);
    const y = tokenOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
  if (count < BUCKETED_FROM) return [...items].sort(byToken);
  const keys = new Uint16Array(count);
  const ends = new Uint32Array(BUCKETS + 1);
  for (let i = 0; i < count; i += 1) {
    const key = bucketOf(tokenOf(items[i]!));
    keys[i] = key;
    ends[key + 1]! += 1;
  }
  for (let key = 0; key < BUCKETS; key += 1) ends[key + 1]! += ends[key]!;
  // Counting sort: stable, items of a bucket in their input order.
  const out = new Array<T>(count);
  const next = ends.slice(0, BUCKETS);
  for (let i = 0; i < count; i += 1) out[next[keys[i]!]!++] = items[i]!;
  let previous: string | undefined;
  for (let key = 0; key < BUCKETS; key += 1) {
    const from = ends[key]!;
    const to = ends[key + 1]!;
    if (to - from > INSERTION_SORT_UP_TO) {
      // Many tokens sharing four digits: not random, and insertion sort would be quadratic.
      const sorted = out.slice(from, to).sort(byToken);
      for (let i = 0; i < sorted.length; i += 1) out[from + i] = sorted[i]!;
    } else {
      // Insertion sort, moving an item only past strictly greater tokens: stable.
      for (let i = from + 1; i < to; i += 1) {
        const item = out[i]!;
        const token = tokenOf(item);
        let j = i - 1;
        while (j >= from && tokenOf(out[j]!) > token) {
          out[j + 1] = out[j]!;
          j -= 1;
        }
        out[j + 1] = item;
      }
    }
    if (from === to) continue;
    // Only strings that are not hex can put a bucket before the one holding smaller tokens.
    if (previous !== undefined && tokenOf(out[from]!) < previous) return [...items].sort(byToken);
    previous = tokenOf(out[to - 1]!);
  }
  return out;
}

const itself = (token: string) => token;

/** `tokens` sorted as `[...tokens].sort()` sorts them (see inTokenOrder). */
export function sortedTokens(tokens: readonly string[]): string[] {
  return inTokenOrder(tokens, itself);
}
