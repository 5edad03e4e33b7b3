/** Tokens removed from the registry, for the app's backend to sync (docs/api.md). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sendError, sendProblem } from '../problem-reply.ts';
import type { RoutePluginOptions } from '../route-context.ts';
import {
  AppParams,
  errorResponses,
  FeedbackPollSchema,
  InvalidationQuery,
  InvalidationSchema,
  pageOf,
} from '../schemas.ts';
import { invalidationView } from '../views.ts';

export const invalidationRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { context }) => {
  const { store, feedback } = context.deps;

  app.get(
    '/v1/apps/:app/invalidations',
    {
      config: { access: 'server' },
      schema: {
        tags: ['invalidations'],
        summary:
          'Tokens removed (oldest first) since a time, cursor-paginated; kept for the retention period.',
        params: AppParams,
        querystring: InvalidationQuery,
        response: { 200: pageOf(InvalidationSchema), ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const { since, cursor, limit } = request.query;
      const sinceDate = since === undefined ? null : new Date(since);
      if (sinceDate !== null && Number.isNaN(sinceDate.getTime())) {
        return sendError(reply, 'PK_ERR_VALIDATION', '`since` must be an ISO 8601 date-time.', {
          reason: 'since',
        });
      }
      const page = await store.invalidations.list(request.params.app, { since: sinceDate, cursor, limit });
      if (!page.ok) return sendProblem(reply, page.error);
      return { items: page.value.items.map(invalidationView), nextCursor: page.value.nextCursor };
    },
  );

  app.post(
    '/v1/apps/:app/feedback::poll',
    {
      config: { access: 'server' },
      schema: {
        tags: ['invalidations'],
        summary: "Poll the app's legacy feedback service now and apply what it reports.",
        params: AppParams,
        response: { 200: FeedbackPollSchema, ...errorResponses(400, 403, 404, 502, 504) },
      },
    },
    async (request, reply) => {
      const polled = await feedback.pollNow(request.params.app);
      if (!polled.ok) return sendProblem(reply, polled.error);
      const summary = polled.value;
      request.log.info(
        { appId: summary.appId, tuplesRead: summary.tuplesRead, removed: summary.removed },
        'feedback polled',
      );
      return { ...summary, at: summary.at.toISOString() };
    },
  );
};
