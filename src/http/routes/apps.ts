/**
 * Apps (admin): create with credentials and first keys, list, show, change (rotate credentials),
 * delete. `POST /v1/apps` answers the id and the first API keys, shown once.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppEndpoints, AppFeedbackSettings, UpdateAppInput } from '../../store/contract.ts';
import { generateApiKey } from '../api-keys.ts';
import { checkCredentials } from '../credentials-check.ts';
import { sendError, sendProblem } from '../problem-reply.ts';
import type { RoutePluginOptions } from '../route-context.ts';
import {
  AppParams,
  AppSchema,
  CreateAppBody,
  CreatedAppSchema,
  errorResponses,
  PageQuery,
  PatchAppBody,
  pageOf,
} from '../schemas.ts';
import { apiKeyView, appView } from '../views.ts';

type EndpointsBody = NonNullable<CreateAppBody['endpoints']>;
type FeedbackBody = NonNullable<CreateAppBody['feedback']>;

function endpoints(body: EndpointsBody): AppEndpoints {
  return { production: body.production ?? null, sandbox: body.sandbox ?? null, caPem: body.caPem ?? null };
}

function feedback(body: FeedbackBody): AppFeedbackSettings {
  return {
    host: body.host,
    port: body.port,
    intervalHours: body.intervalHours ?? null,
    caPem: body.caPem ?? null,
  };
}

export const appRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { context }) => {
  const { store } = context.deps;

  app.post(
    '/v1/apps',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['apps'],
        summary:
          'Create an app with its APNs credentials; answers its first server and publishable keys (shown once).',
        body: CreateAppBody,
        response: { 201: CreatedAppSchema, ...errorResponses(400, 403, 409, 413) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const credentials = checkCredentials(body.apns);
      if (!credentials.ok) return sendProblem(reply, credentials.error);
      const created = await store.apps.create(
        {
          name: body.name,
          topic: body.topic,
          credentials: body.apns,
          endpoints: body.endpoints === undefined ? null : endpoints(body.endpoints),
          feedback: body.feedback === undefined ? null : feedback(body.feedback),
          webhook: body.webhook ?? null,
        },
        context.now(),
      );
      if (!created.ok) return sendProblem(reply, created.error);
      const appId = created.value.id;
      const server = generateApiKey('server');
      const publishable = generateApiKey('publishable');
      const keys = [];
      for (const [scope, key] of [
        ['server', server],
        ['publishable', publishable],
      ] as const) {
        const stored = await store.keys.create(
          { appId, scope, prefix: key.displayPrefix, sha256: key.sha256 },
          context.now(),
        );
        if (!stored.ok) return sendProblem(reply, stored.error);
        keys.push(apiKeyView(stored.value));
      }
      request.log.info({ appId }, 'app created');
      return reply
        .code(201)
        .send({ ...appView(created.value), apiKey: server.secret, publishableKey: publishable.secret, keys });
    },
  );

  app.get(
    '/v1/apps',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['apps'],
        summary: 'List apps (no secrets).',
        querystring: PageQuery,
        response: { 200: pageOf(AppSchema), ...errorResponses(400, 403) },
      },
    },
    async (request, reply) => {
      const page = await store.apps.list({ cursor: request.query.cursor, limit: request.query.limit });
      if (!page.ok) return sendProblem(reply, page.error);
      return { items: page.value.items.map(appView), nextCursor: page.value.nextCursor };
    },
  );

  app.get(
    '/v1/apps/:app',
    {
      config: { access: 'server' },
      schema: {
        tags: ['apps'],
        summary: "Show an app (admin, or the app's own server key). Secrets are never answered.",
        params: AppParams,
        response: { 200: AppSchema, ...errorResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const found = await store.apps.get(request.params.app);
      if (found === null) return sendError(reply, 'PK_ERR_APP_NOT_FOUND');
      return appView(found);
    },
  );

  app.patch(
    '/v1/apps/:app',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['apps'],
        summary:
          'Change an app: name, topic, rotate credentials (`apns`), endpoints, feedback, webhook (null clears).',
        params: AppParams,
        body: PatchAppBody,
        response: { 200: AppSchema, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const input: { -readonly [K in keyof UpdateAppInput]: UpdateAppInput[K] } = {};
      if (body.name !== undefined) input.name = body.name;
      if (body.topic !== undefined) input.topic = body.topic;
      if (body.apns !== undefined) {
        const credentials = checkCredentials(body.apns);
        if (!credentials.ok) return sendProblem(reply, credentials.error);
        input.credentials = body.apns;
      }
      if (body.endpoints !== undefined)
        input.endpoints = body.endpoints === null ? null : endpoints(body.endpoints);
      if (body.feedback !== undefined)
        input.feedback = body.feedback === null ? null : feedback(body.feedback);
      if (body.webhook !== undefined) input.webhook = body.webhook;
      const updated = await store.apps.update(request.params.app, input, context.now());
      if (!updated.ok) return sendProblem(reply, updated.error);
      request.log.info({ appId: request.params.app, fields: Object.keys(body) }, 'app updated');
      return appView(updated.value);
    },
  );

  app.delete(
    '/v1/apps/:app',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['apps'],
        summary: 'Delete an app and everything in it (devices, keys, notifications, invalidations).',
        params: AppParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...errorResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const deleted = await store.apps.delete(request.params.app);
      if (!deleted) return sendError(reply, 'PK_ERR_APP_NOT_FOUND');
      // Its keys went with it: no cached lookup may still authenticate them.
      context.keyCache.clear();
      request.log.info({ appId: request.params.app }, 'app deleted');
      return reply.code(204).send(null);
    },
  );
};
