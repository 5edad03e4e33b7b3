/** The HTTP request histogram (docs/api.md, "Operations"), labelled by route template, not raw URL. */
import { Histogram, type Registry } from 'prom-client';

const NAME = 'pushkeeper_http_request_duration_seconds';
type Labels = 'method' | 'route' | 'status_code';

/** One histogram per registry: several apps built on one registry (tests, bench) share it. */
export function httpRequestHistogram(registry: Registry): Histogram<Labels> {
  const existing = registry.getSingleMetric(NAME);
  if (existing) return existing as Histogram<Labels>;
  return new Histogram<Labels>({
    name: NAME,
    help: 'HTTP API request duration by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}
