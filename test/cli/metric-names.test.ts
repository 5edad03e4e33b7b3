/** The names /metrics exports: one `pushkeeper_` prefix, never a doubled `process_process_`. */
import { afterEach, describe, expect, it } from 'vitest';
import { type Observability, startObservability } from '../../src/cli/observability.ts';

describe('metric names', () => {
  let observability: Observability | undefined;
  afterEach(async () => {
    observability?.close();
  });

  it('prefixes every metric once with pushkeeper_', async () => {
    observability = startObservability({ logger: { debug() {}, info() {}, warn() {}, error() {} } });
    const names = (await observability.registry.getMetricsAsJSON()).map((metric) => metric.name);
    expect(names).toContain('pushkeeper_process_cpu_user_seconds_total');
    expect(names).toContain('pushkeeper_nodejs_heap_size_used_bytes');
    for (const name of names) {
      expect(name).toMatch(/^pushkeeper_/);
      expect(name).not.toMatch(/^pushkeeper_pushkeeper_|process_process_|_process_nodejs_/);
    }
  });
});
