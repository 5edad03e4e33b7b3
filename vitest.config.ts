import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: protocol and database tests are I/O bound, a small pool keeps them honest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
