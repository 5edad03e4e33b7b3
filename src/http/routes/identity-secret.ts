/**
 * `POST /v1/apps/:app/identity-secret` (server key): creates or rotates the app's identity secret,
 * what its backend signs aliasTokens with (docs/identity.md). The secret is answered this once and
 * stored encrypted; the previous one stops verifying at once.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sendProblem } from '../problem-reply.ts';
import type { RoutePluginOptions } from '../route-context.ts';
import { AppParams, errorResponses, IdentitySecretSchema } from '../schemas.ts';

export const identitySecretRoutes: FastifyPluginAsyncTypebox<RoutePluginOptions> = async (
  app,
  { context },
) => {
  app.post(
    '/v1/apps/:app/identity-secret',
    {
      config: { access: 'server' },
      schema: {
        tags: ['apps'],
        summary:
          "Create or rotate the app's identity secret (answered once). aliasTokens signed with the previous one stop verifying.",
        params: AppParams,
        response: { 201: IdentitySecretSchema, ...errorResponses(403, 404) },
      },
    },
    async (request, reply) => {
      const rotated = await context.devices.rotateIdentitySecret(request.params.app);
      if (!rotated.ok) return sendProblem(reply, rotated.error);
      // The key id says who rotated it; the secret itself never reaches a log line.
      request.log.info({ appId: request.params.app }, 'identity secret rotated');
      return reply.code(201).header('cache-control', 'no-store').send(rotated.value);
    },
  );
};
