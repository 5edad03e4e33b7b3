/**
 * Operations: liveness, readiness (store and queue reachable, not shutting down), Prometheus
 * metrics. On the main listener /metrics needs the admin key; `buildMetricsApp` serves it without a
 * key for a separate, private listen address (config metricsHost/metricsPort).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { onRequestAsyncHookHandler } from 'fastify';
import type { Registry } from 'prom-client';
import { Type } from 'typebox';
import type { RoutePluginOptions } from '../route-context.ts';
import { ErrorBodySchema } from '../schemas.ts';

const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  store: Type.Boolean(),
  queue: Type.Boolean(),
  shuttingDown: Type.Boolean(),
});

export interface OpsRouteOptions extends RoutePluginOptions {
  readonly requireAdmin: onRequestAsyncHookHandler;
}

export const opsRoutes: FastifyPluginAsyncTypebox<OpsRouteOptions> = async (
  app,
  { context, requireAdmin },
) => {
  const { deps } = context;

  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers.',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the store and the queue answer and the process is not shutting down.',
        security: [],
        response: { 200: ReadinessSchema, 503: ReadinessSchema },
      },
    },
    async (_request, reply) => {
      const shuttingDown = deps.isShuttingDown();
      let checks = { store: false, queue: false };
      try {
        checks = { ...(await deps.readiness.check()) };
      } catch {
        // An exception from a probe is a "not ready", not a 500.
      }
      const ready = checks.store && checks.queue && !shuttingDown;
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'unavailable', ...checks, shuttingDown });
    },
  );

  app.get(
    '/metrics',
    {
      config: { access: 'admin' },
      onRequest: requireAdmin,
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (admin key required on the main listener).',
        produces: ['text/plain'],
        response: { 200: Type.String(), 401: ErrorBodySchema, 403: ErrorBodySchema },
      },
    },
    async (_request, reply) => metricsAnswer(deps.metrics.registry, reply),
  );
};

export async function metricsAnswer(
  registry: Registry,
  reply: { type(contentType: string): unknown },
): Promise<string> {
  reply.type(registry.contentType);
  return registry.metrics();
}
