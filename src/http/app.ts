/**
 * `buildApp(deps)`: the HTTP API as a Fastify instance that never listens by itself (cli/serve does).
 * Route groups are encapsulated plugins; every /v1 route declares who may call it (`config.access`)
 * and the access hook enforces it before the body is read.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { createAccessControl } from './access.ts';
import type { HttpDeps } from './deps.ts';
import { createClientErrorHandler, handleError, handleFrameworkError } from './error-handler.ts';
import { httpRequestHistogram } from './http-metrics.ts';
import { useStrictJsonParser } from './json-body.ts';
import { KeyCache } from './key-cache.ts';
import { maskUrl } from './log-scrub.ts';
import { sendError } from './problem-reply.ts';
import { TokenBucketLimiter } from './rate-limit.ts';
import { lazyChildLogger } from './request-logger.ts';
import type { RouteContext } from './route-context.ts';
import { appRoutes } from './routes/apps.ts';
import {
  deviceImportRoutes,
  IMPORT_LINE_DESCRIPTION,
  IMPORT_PATH,
  NDJSON_TYPES,
} from './routes/device-import.ts';
import { deviceRoutes } from './routes/devices.ts';
import { invalidationRoutes } from './routes/invalidations.ts';
import { keyRoutes } from './routes/keys.ts';
import { metricsAnswer, opsRoutes } from './routes/ops.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { requestValidation } from './validators.ts';
import { MAX_ALIAS_LENGTH, TOKEN_MAX_HEX_LENGTH } from '../domain/index.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export const API_VERSION = '0.1.0';

/**
 * The longest path parameter a valid request can carry, percent-encoded: an alias of
 * MAX_ALIAS_LENGTH UTF-16 units where each unit is a BMP character of three UTF-8 bytes, each byte
 * written as `%XX` (9 characters per unit; a surrogate pair is 4 bytes for 2 units, less). Tokens
 * (TOKEN_MAX_HEX_LENGTH hex digits) are far shorter. Fastify's default of 100 refused valid tokens.
 */
export const MAX_PATH_PARAMETER_LENGTH = Math.max(TOKEN_MAX_HEX_LENGTH, MAX_ALIAS_LENGTH * 9);

export async function buildApp(deps: HttpDeps): Promise<FastifyInstance> {
  const now = deps.now ?? (() => new Date());
  const nowMs = deps.nowMs ?? Date.now;
  const { config } = deps;
  // Node refuses a headers timeout above the request timeout; the request timeout bounds both.
  const headersTimeout = Math.min(config.httpHeadersTimeoutMs, config.httpRequestTimeoutMs);

  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Request logging is ours (below): Fastify's own would log raw URLs with device tokens in them.
    logController: new LogController({ disableRequestLogging: true }),
    // request.log is made on first use: the hot routes never log through it (request-logger.ts).
    childLoggerFactory: lazyChildLogger,
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER_LENGTH },
    // Slow clients (slowloris: headers or a body trickled byte by byte) hold a socket each; Node's
    // request and headers timeouts answer 408 and close, the idle timeout closes a silent socket.
    // Node checks the first two on an interval (default 30 s), so it is tied to the headers timeout.
    requestTimeout: config.httpRequestTimeoutMs,
    connectionTimeout: config.httpIdleTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    http: {
      requestTimeout: config.httpRequestTimeoutMs,
      headersTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    clientErrorHandler: createClientErrorHandler(deps.logger as FastifyBaseLogger),
    frameworkErrors: handleFrameworkError,
    // Our onRequest hook answers 503 PK_ERR_SHUTTING_DOWN from the catalogue while closing.
    return503OnClosing: false,
    // JSON bodies are validated as typed, paths, queries and headers coerced from text (validators.ts).
    schemaController: requestValidation,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const keyCache = new KeyCache({ lookup: (sha256) => deps.store.keys.findByHash(sha256), nowMs });
  const context: RouteContext = {
    deps,
    now,
    keyCache,
    broadcastLimiter: new TokenBucketLimiter({
      capacity: config.broadcastRateLimit,
      refill: config.broadcastRateLimit,
      perMs: HOUR_MS,
      now: nowMs,
    }),
    publishableRegistrationLimiter: new TokenBucketLimiter({
      capacity: config.publishableRegistrationsPerHour,
      refill: config.publishableRegistrationsPerHour,
      perMs: HOUR_MS,
      now: nowMs,
    }),
  };
  const accessHook = createAccessControl({
    store: deps.store,
    keys: keyCache,
    adminTokenSha256: deps.adminTokenSha256,
    perKeyLimiter: new TokenBucketLimiter({
      capacity: config.rateLimitPerKey,
      refill: config.rateLimitPerKey,
      perMs: MINUTE_MS,
      now: nowMs,
    }),
    now,
    nowMs,
  });

  app.decorateRequest('principal', null);
  app.setErrorHandler(handleError);
  useStrictJsonParser(app as unknown as FastifyInstance);
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      'PK_ERR_NOT_FOUND',
      `No route ${request.method} ${maskUrl(request.url.split('?')[0] ?? '')}.`,
    ),
  );

  const histogram = httpRequestHistogram(deps.metrics.registry);
  // The request line is built here from fields that hold no secret (the URL is masked), so it skips
  // the logger's redaction, which cost three times the rest of the line (measured: 15 vs 4 µs).
  const requestLog = deps.logger.child({}, { redact: [] });
  app.addHook('onRequest', (request, reply, done) => {
    if (deps.isShuttingDown() && request.url !== '/healthz') {
      reply.header('connection', 'close');
      return void sendError(reply, 'PK_ERR_SHUTTING_DOWN');
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    histogram.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const principal = request.principal;
    // A successful read changes nothing and is what pollers repeat (`push --wait`, dashboards):
    // debug keeps the info log to what changed state or failed.
    const routine = (request.method === 'GET' || request.method === 'HEAD') && reply.statusCode < 400;
    requestLog[routine ? 'debug' : 'info'](
      {
        reqId: request.id,
        method: request.method,
        url: maskUrl(request.url),
        route,
        statusCode: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        ...(principal ? { keyId: principal.keyId ?? 'admin-token' } : {}),
      },
      'request completed',
    );
    done();
  });

  await app.register(swagger, {
    transformObject: (documentObject) => {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
      return withImportRequestBody(documentObject.openapiObject);
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Pushkeeper API',
        version: API_VERSION,
        description:
          'Self-hosted APNs push service. Errors are `{"error": {"code", "message", "details"}}` with codes from docs/errors.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An admin, server or publishable key.' },
        },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'apps' },
        { name: 'keys' },
        { name: 'devices' },
        { name: 'aliases' },
        { name: 'notifications' },
        { name: 'invalidations' },
        { name: 'operations' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(opsRoutes, { context, requireAdmin: accessHook });
  await app.register(async (v1) => {
    v1.addHook('onRequest', accessHook);
    await v1.register(appRoutes, { context });
    await v1.register(keyRoutes, { context });
    await v1.register(deviceRoutes, { context });
    await v1.register(deviceImportRoutes, { context });
    await v1.register(notificationRoutes, { context });
    await v1.register(invalidationRoutes, { context });
  });
  // Callers need no TypeBox typing: the instance is handed out with the default type provider.
  return app as unknown as FastifyInstance;
}

/**
 * The NDJSON import reads its body as a stream, so it has no body schema for Fastify to validate;
 * the OpenAPI document still describes what to send.
 */
function withImportRequestBody<T extends { paths?: Record<string, unknown> }>(document: T): T {
  const operation = (document.paths?.[IMPORT_PATH] as { post?: Record<string, unknown> } | undefined)?.post;
  if (operation !== undefined) {
    operation['requestBody'] = {
      required: true,
      content: Object.fromEntries(
        NDJSON_TYPES.map((type) => [
          type,
          { schema: { type: 'string', description: IMPORT_LINE_DESCRIPTION } },
        ]),
      ),
    };
  }
  return document;
}

/** A key-less /metrics for a separate, private listen address (config metricsHost/metricsPort). */
export async function buildMetricsApp(deps: Pick<HttpDeps, 'metrics' | 'logger'>): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get('/metrics', async (_request, reply) => metricsAnswer(deps.metrics.registry, reply));
  return app;
}
