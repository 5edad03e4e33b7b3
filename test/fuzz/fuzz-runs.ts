/**
 * How long the fuzz properties run: a short run in `npm test`, and as many runs as FUZZ_RUNS says
 * under `npm run fuzz` (which sets it), with a test timeout to match.
 */
const long = Number(process.env['FUZZ_RUNS'] ?? 0);

/** `short` runs normally; FUZZ_RUNS × `weight` (at least 1) in a long run. */
export function fuzzRuns(short: number, weight = 1): number {
  return long > 0 ? Math.max(1, Math.round(long * weight)) : short;
}

/** The vitest timeout of a fuzz test: the default in a short run, an hour in a long one. */
export const FUZZ_TIMEOUT_MS = long > 0 ? 3_600_000 : 60_000;
