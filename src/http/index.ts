export { API_KEY_PREFIXES, generateApiKey, hashApiKey } from './api-keys.ts';
export { API_VERSION, buildApp, buildMetricsApp } from './app.ts';
export type { HttpDeps, HttpMetricsDeps } from './deps.ts';
export { maskUrl, scrubSecrets } from './log-scrub.ts';
