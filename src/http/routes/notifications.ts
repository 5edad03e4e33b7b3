/**
 * Notifications of one app: accept a push (202), list, status and counts, per-device failures,
 * cancel. Validation of audience, payload and options is the push service's (domain rules);
 * this layer adds the HTTP limits: recipients per request and the broadcast rate.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { sendError, sendProblem } from '../problem-reply.ts';
import type { RoutePluginOptions } from '../route-context.ts';
import { AcceptPushBody, AcceptPushBodyDoc } from '../push-body-schemas.ts';
import {
  AcceptedPushSchema,
  AppParams,
  CancelResultSchema,
  errorResponses,
  NotificationParams,
  NotificationSchema,
  OutcomeSchema,
  PageQuery,
  pageOf,
} from '../schemas.ts';
import { notificationView, outcomeView } from '../views.ts';

const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** How many recipients an audience lists (0 for alias and all). */
function listedRecipients(audience: unknown): number {
  if (typeof audience !== 'object' || audience === null) return 0;
  let most = 0;
  for (const key of ['aliases', 'tokens', 'tags'] as const) {
    const list = (audience as Record<string, unknown>)[key];
    if (Array.isArray(list)) most = Math.max(most, list.length);
  }
  return most;
}

/** Exactly `{"all": true}`: anything else is refused by the audience rules and must not use up the limit. */
function isBroadcast(audience: unknown): boolean {
  if (typeof audience !== 'object' || audience === null || Array.isArray(audience)) return false;
  return Object.keys(audience).length === 1 && (audience as Record<string, unknown>)['all'] === true;
}

export const notificationRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { context }) => {
  const { store, push } = context.deps;
  const { config } = context.deps;

  app.post(
    '/v1/apps/:app/notifications',
    {
      config: {
        access: 'server',
        // Validated loosely and parsed by the domain (schemas.ts); documented precisely.
        swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, body: AcceptPushBodyDoc }, url }),
      },
      schema: {
        tags: ['notifications'],
        summary:
          'Accept a push for delivery; answers 202 with its id. Send an Idempotency-Key header to retry safely.',
        params: AppParams,
        headers: Type.Object({
          'idempotency-key': Type.Optional(
            Type.String({ minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH }),
          ),
        }),
        body: AcceptPushBody,
        response: { 202: AcceptedPushSchema, ...errorResponses(400, 403, 404, 409, 413) },
      },
    },
    async (request, reply) => {
      const appId = request.params.app;
      const { audience, payload, options } = request.body;
      const recipients = listedRecipients(audience);
      if (recipients > config.maxRecipientsPerRequest) {
        return sendError(
          reply,
          'PK_ERR_TOO_MANY_RECIPIENTS',
          `At most ${config.maxRecipientsPerRequest} recipients per request.`,
          {
            limit: config.maxRecipientsPerRequest,
            given: recipients,
          },
        );
      }
      if (isBroadcast(audience)) {
        const decision = context.broadcastLimiter.take(appId);
        if (!decision.allowed) {
          reply.header('retry-after', String(decision.retryAfterSeconds));
          return sendError(reply, 'PK_ERR_RATE_LIMITED', 'Too many pushes to all devices; retry later.', {
            retryAfterSeconds: decision.retryAfterSeconds,
            limitPerHour: config.broadcastRateLimit,
          });
        }
      }
      const idempotencyKey = request.headers['idempotency-key'];
      const accepted = await push.accept(
        appId,
        options === undefined ? { audience, payload } : { audience, payload, options },
        idempotencyKey === undefined ? {} : { idempotencyKey },
      );
      if (!accepted.ok) return sendProblem(reply, accepted.error);
      const { notification, created } = accepted.value;
      if (!created) reply.header('idempotent-replayed', 'true');
      request.log.info({ appId, notificationId: notification.id, created }, 'push accepted');
      return reply.code(202).send({ id: notification.id, status: notification.status, created });
    },
  );

  app.get(
    '/v1/apps/:app/notifications',
    {
      config: { access: 'server' },
      schema: {
        tags: ['notifications'],
        summary: 'List notifications, newest first, cursor-paginated.',
        params: AppParams,
        querystring: PageQuery,
        response: { 200: pageOf(NotificationSchema), ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const page = await store.notifications.list(request.params.app, {
        cursor: request.query.cursor,
        limit: request.query.limit,
      });
      if (!page.ok) return sendProblem(reply, page.error);
      return { items: page.value.items.map(notificationView), nextCursor: page.value.nextCursor };
    },
  );

  app.get(
    '/v1/apps/:app/notifications/:id',
    {
      config: { access: 'server' },
      schema: {
        tags: ['notifications'],
        summary: 'Status and counts of one notification.',
        params: NotificationParams,
        response: { 200: NotificationSchema, ...errorResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const found = await store.notifications.get(request.params.app, request.params.id);
      if (found === null) return sendError(reply, 'PK_ERR_NOTIFICATION_NOT_FOUND');
      return notificationView(found);
    },
  );

  app.get(
    '/v1/apps/:app/notifications/:id/failures',
    {
      config: { access: 'server' },
      schema: {
        tags: ['notifications'],
        summary: 'Per-device outcomes other than accepted (rejected, invalidated, failed), cursor-paginated.',
        params: NotificationParams,
        querystring: PageQuery,
        response: { 200: pageOf(OutcomeSchema), ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const { app: appId, id } = request.params;
      if ((await store.notifications.get(appId, id)) === null)
        return sendError(reply, 'PK_ERR_NOTIFICATION_NOT_FOUND');
      const page = await store.notifications.listFailures(appId, id, {
        cursor: request.query.cursor,
        limit: request.query.limit,
      });
      if (!page.ok) return sendProblem(reply, page.error);
      return { items: page.value.items.map(outcomeView), nextCursor: page.value.nextCursor };
    },
  );

  app.delete(
    '/v1/apps/:app/notifications/:id',
    {
      config: { access: 'server' },
      schema: {
        tags: ['notifications'],
        summary: 'Cancel what is not yet sent. 409 PK_ERR_CONFLICT when the notification is already final.',
        params: NotificationParams,
        response: { 200: CancelResultSchema, ...errorResponses(403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { app: appId, id } = request.params;
      const result = await push.cancel(appId, id);
      if (result === 'not-found') return sendError(reply, 'PK_ERR_NOTIFICATION_NOT_FOUND');
      const current = await store.notifications.get(appId, id);
      const status = current?.status ?? 'cancelled';
      if (result === 'already-final') {
        return sendError(reply, 'PK_ERR_CONFLICT', `The notification is already ${status}.`, { status });
      }
      request.log.info({ appId, notificationId: id }, 'notification cancelled');
      return { id, result, status };
    },
  );
};
