/**
 * The V8 flags a Pushkeeper process runs with: in the shebang of bin/pushkeeper.mjs and in
 * `npm start` (test/docs.test.ts keeps the three equal). Benchmarks run their measured service
 * processes with the same flags.
 *
 * Why: under a steady stream of short-lived objects (a fan-out, an audience read from PostgreSQL)
 * V8 grows the young generation to 64 MB per semi-space on a large machine, and the process's RSS
 * with it, whatever the live data (docs/benchmarks.md). A 16 MB cap keeps the young generation at
 * 48 MB for a few per cent more CPU in collections. NODE_OPTIONS can still override it.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
