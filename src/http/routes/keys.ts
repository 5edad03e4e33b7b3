/** API keys of one app: issue (shown once), list, revoke. Admin or the app's server key. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { generateApiKey } from '../api-keys.ts';
import { sendError, sendProblem } from '../problem-reply.ts';
import type { RoutePluginOptions } from '../route-context.ts';
import {
  ApiKeySchema,
  AppParams,
  CreateKeyBody,
  CreatedKeySchema,
  errorResponses,
  KeyParams,
} from '../schemas.ts';
import { apiKeyView } from '../views.ts';

export const keyRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (app, { context }) => {
  const { keys } = context.deps;

  app.post(
    '/v1/apps/:app/keys',
    {
      config: { access: 'server' },
      schema: {
        tags: ['keys'],
        summary: 'Issue an API key (`server` or `publishable`); the secret is answered once.',
        params: AppParams,
        body: CreateKeyBody,
        response: { 201: CreatedKeySchema, ...errorResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const generated = generateApiKey(request.body.scope);
      const stored = await keys.issue(request.params.app, {
        scope: request.body.scope,
        prefix: generated.displayPrefix,
        sha256: generated.sha256,
      });
      if (!stored.ok) return sendProblem(reply, stored.error);
      request.log.info(
        { appId: request.params.app, keyId: stored.value.id, scope: stored.value.scope },
        'api key issued',
      );
      return reply.code(201).send({ ...apiKeyView(stored.value), key: generated.secret });
    },
  );

  app.get(
    '/v1/apps/:app/keys',
    {
      config: { access: 'server' },
      schema: {
        tags: ['keys'],
        summary: "List the app's keys (prefixes only, never secrets), revoked ones included.",
        params: AppParams,
        response: { 200: Type.Object({ items: Type.Array(ApiKeySchema) }), ...errorResponses(403, 404) },
      },
    },
    async (request) => {
      const listed = await keys.list(request.params.app);
      return { items: listed.map(apiKeyView) };
    },
  );

  app.delete(
    '/v1/apps/:app/keys/:keyId',
    {
      config: { access: 'server' },
      schema: {
        tags: ['keys'],
        summary: 'Revoke a key; it stops working at once on this server, within 1 s on other API processes.',
        params: KeyParams,
        response: { 204: Type.Null({ description: 'Revoked.' }), ...errorResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const revoked = await keys.revoke(request.params.app, request.params.keyId);
      if (!revoked) return sendError(reply, 'PK_ERR_KEY_NOT_FOUND');
      // After the write, not before: a lookup cached in between would still see the key unrevoked.
      context.keyCache.clear();
      request.log.info({ appId: request.params.app, keyId: request.params.keyId }, 'api key revoked');
      return reply.code(204).send(null);
    },
  );
};
