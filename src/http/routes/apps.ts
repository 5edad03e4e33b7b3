/**
 * Apps (admin): create with credentials and first keys, list, show, change (rotate credentials),
 * delete. `POST /v1/apps` answers the id and the first API keys, shown once.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppFeedbackSettings } from '../../store/contract.ts';
import type { AppPatch, EndpointsPatch, NewApiKey } from '../../service/apps.ts';
import { generateApiKey } from '../api-keys.ts';
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
  VerifyReportSchema,
} from '../schemas.ts';
import { apiKeyView, appView } from '../views.ts';

type EndpointsBody = NonNullable<CreateAppBody['endpoints']>;
type FeedbackBody = NonNullable<CreateAppBody['feedback']>;

/** Only the fields the body names: an absent field is kept by the service, `null` clears it. */
function endpoints(body: EndpointsBody): EndpointsPatch {
  return {
    ...(body.production === undefined ? {} : { production: body.production }),
    ...(body.sandbox === undefined ? {} : { sandbox: body.sandbox }),
    ...(body.caPem === undefined ? {} : { caPem: body.caPem }),
  };
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
  const { apps } = context.deps;

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
      const server = generateApiKey('server');
      const publishable = generateApiKey('publishable');
      const firstKeys: NewApiKey[] = [
        { scope: 'server', prefix: server.displayPrefix, sha256: server.sha256 },
        { scope: 'publishable', prefix: publishable.displayPrefix, sha256: publishable.sha256 },
      ];
      const created = await apps.create(
        {
          name: body.name,
          topic: body.topic,
          credentials: body.apns,
          endpoints: body.endpoints === undefined ? null : endpoints(body.endpoints),
          feedback: body.feedback === undefined ? null : feedback(body.feedback),
          webhook: body.webhook ?? null,
        },
        firstKeys,
      );
      if (!created.ok) return sendProblem(reply, created.error);
      const appId = created.value.app.id;
      request.log.info({ appId }, 'app created');
      return reply.code(201).send({
        ...appView(created.value.app),
        apiKey: server.secret,
        publishableKey: publishable.secret,
        keys: created.value.keys.map(apiKeyView),
      });
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
      const page = await apps.list({ cursor: request.query.cursor, limit: request.query.limit });
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
        summary:
          "Show an app (admin, or the app's own server key), with each provider's health. Secrets are never answered.",
        params: AppParams,
        response: { 200: AppSchema, ...errorResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const found = await apps.get(request.params.app);
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
          'Change only the fields given: name, topic, credentials (`apns`), single endpoint fields, feedback, webhook (null clears). Applies on the next send.',
        params: AppParams,
        body: PatchAppBody,
        response: { 200: AppSchema, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const patch: { -readonly [K in keyof AppPatch]: AppPatch[K] } = {};
      if (body.name !== undefined) patch.name = body.name;
      if (body.topic !== undefined) patch.topic = body.topic;
      if (body.apns !== undefined) patch.credentials = body.apns;
      if (body.endpoints !== undefined) patch.endpoints = body.endpoints === null ? null : endpoints(body.endpoints);
      if (body.feedback !== undefined) patch.feedback = body.feedback === null ? null : body.feedback;
      if (body.webhook !== undefined) patch.webhook = body.webhook;
      const updated = await apps.update(request.params.app, patch);
      if (!updated.ok) return sendProblem(reply, updated.error);
      request.log.info({ appId: request.params.app, fields: Object.keys(body) }, 'app updated');
      return appView(updated.value);
    },
  );

  app.post(
    '/v1/apps/:app/credentials::verify',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['apps'],
        summary:
          "Prove the app's credentials live: one request per environment for a made-up token (APNs answers BadDeviceToken to a well-signed one). Updates the app's health.",
        params: AppParams,
        response: { 200: VerifyReportSchema, ...errorResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const report = await apps.verify(request.params.app);
      if (!report.ok) return sendProblem(reply, report.error);
      return report.value;
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
      const deleted = await apps.delete(request.params.app);
      if (!deleted) return sendError(reply, 'PK_ERR_APP_NOT_FOUND');
      // Its keys went with it: no cached lookup may still authenticate them.
      context.keyCache.clear();
      request.log.info({ appId: request.params.app }, 'app deleted');
      return reply.code(204).send(null);
    },
  );
};
