/** What `buildApp` needs: the service contracts plus the edge's own settings and observers. */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/index.ts';
import type { ServiceDeps } from '../service/contract.ts';

export interface HttpMetricsDeps {
  /** Where the HTTP request histogram is registered and what GET /metrics exposes. */
  readonly registry: Registry;
}

export interface HttpDeps extends ServiceDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: HttpMetricsDeps;
  /**
   * Lower-case hex SHA-256 of the resolved admin token (`hashApiKey(token)` from api-keys.ts).
   * Only the hash is held so a heap dump of the API process does not hold the token itself.
   */
  readonly adminTokenSha256: string;
  /** true once SIGTERM arrived: new requests get 503 PK_ERR_SHUTTING_DOWN, /readyz fails. */
  isShuttingDown(): boolean;
  readonly now?: () => Date;
  /** Milliseconds clock for rate limits; defaults to Date.now. */
  readonly nowMs?: () => number;
}
